"""The deployment package of the `dev` stage: built by `python -m infra.package`, linted by
cfn-lint, and checked against the pynamodb models it is generated from."""
from __future__ import annotations

import ast
import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from infra import PROJECT_DIR, stage_environment

STAGE = "dev"
RUNTIME = "python3.12"
PACKAGE_TIMEOUT_SECONDS = 240
# The secret settings `chalicelib/config.py` reads: deployment parameters, never in the repo.
SECRET_NAMES = (
    "TOKEN_SECRET",
    "WECHAT_APPID",
    "WECHAT_SECRET",
    "WECHAT_TOKEN",
    "WECHAT_ENCODING_AES_KEY",
    "ADMIN_API_KEYS",
)
# Values planted in the packaging environment: none may end up in the template.
CANARIES = {name: f"canary-{name.lower()}-must-not-leak" for name in SECRET_NAMES}
# The models as the stage's Lambda sees them: imported under the stage's environment.
MODELS_SCRIPT = """
import json
from chalicelib.store.schema import ALL_MODELS, TTL_ATTRIBUTES
print(json.dumps([
    {
        "table": m.Meta.table_name,
        "schema": m._get_schema(),
        "ttl": m.get_attributes()[TTL_ATTRIBUTES[m]].attr_name if m in TTL_ATTRIBUTES else None,
    }
    for m in ALL_MODELS
]))
"""
# pynamodb calls that need a DynamoDB action the role does not grant, and that action.
UNGRANTED_CALLS = {
    "scan": "dynamodb:Scan",
    "exists": "dynamodb:DescribeTable",
    "describe_table": "dynamodb:DescribeTable",
    "create_table": "dynamodb:CreateTable",
    "delete_table": "dynamodb:DeleteTable",
    "update_ttl": "dynamodb:UpdateTimeToLive",
}
# Where those calls belong: the local stack, which runs with local credentials.
LOCAL_ONLY = ("chalicelib/local/", "chalicelib/store/schema.py:create_missing_tables")
# Imports the modules named as arguments from the unpacked deployment package (the cwd).
IMPORT_SCRIPT = """
import importlib, sys
sys.path.insert(0, ".")
for module in sys.argv[1:]:
    importlib.import_module(module)
"""

Template = dict[str, Any]


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the packaging entry point once for the module; return its output directory."""
    outdir = tmp_path_factory.mktemp("package")
    result = subprocess.run(
        [sys.executable, "-m", "infra.package", str(outdir), "--stage", STAGE],
        cwd=PROJECT_DIR,
        env={**os.environ, **CANARIES},
        capture_output=True,
        text=True,
        timeout=PACKAGE_TIMEOUT_SECONDS,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Could not install dependencies" not in output, output
    return outdir


@pytest.fixture(scope="module")
def template(package_dir: Path) -> Template:
    """The SAM template chalice wrote, with infra's fragment merged in."""
    return json.loads((package_dir / "sam.json").read_text())


@pytest.fixture(scope="module")
def models() -> list[dict[str, Any]]:
    """Table name, pynamodb schema and TTL attribute of every model, for the stage."""
    result = subprocess.run(
        [sys.executable, "-c", MODELS_SCRIPT],
        cwd=PROJECT_DIR,
        env={**os.environ, **stage_environment(STAGE)},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def _resources(template: Template, kind: str) -> dict[str, Template]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def _keys(key_schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    """A key schema as (KeyType, AttributeName) pairs, HASH first."""
    return sorted(((k["KeyType"], k["AttributeName"]) for k in key_schema), key=lambda k: k[0])


def test_template_is_lint_clean(package_dir: Path) -> None:
    """No error, warning or informational finding (cfn-lint expands the SAM transform)."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--include-checks", "I", "--",
         str(package_dir / "sam.json")],
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_there_is_one_table_per_model_with_its_keys_and_indexes(
    template: Template, models: list[dict[str, Any]]
) -> None:
    resources = _resources(template, "AWS::DynamoDB::Table").values()
    tables = {t["Properties"]["TableName"]: t for t in resources}
    assert sorted(tables) == sorted(m["table"] for m in models)
    for model in models:
        table, schema = tables[model["table"]], model["schema"]
        props = table["Properties"]
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True}
        assert _keys(props["KeySchema"]) == _keys(schema["key_schema"])
        for kind, key in (("global", "GlobalSecondaryIndexes"), ("local", "LocalSecondaryIndexes")):
            expected = {
                i["index_name"]: (_keys(i["key_schema"]), i["projection"])
                for i in schema[f"{kind}_secondary_indexes"]
            }
            actual = {
                i["IndexName"]: (_keys(i["KeySchema"]), i["Projection"]) for i in props.get(key, [])
            }
            assert actual == expected, model["table"]
        key_attributes = {
            k["AttributeName"]
            for k in props["KeySchema"]
            + [k for i in props.get("GlobalSecondaryIndexes", []) for k in i["KeySchema"]]
            + [k for i in props.get("LocalSecondaryIndexes", []) for k in i["KeySchema"]]
        }
        assert {d["AttributeName"] for d in props["AttributeDefinitions"]} == key_attributes
        expected_ttl = (
            {"AttributeName": model["ttl"], "Enabled": True} if model["ttl"] else None
        )
        assert props.get("TimeToLiveSpecification") == expected_ttl, model["table"]


def test_every_function_runs_python312_with_dependencies_built_for_it(
    template: Template, package_dir: Path
) -> None:
    functions = _resources(template, "AWS::Serverless::Function")
    assert functions
    assert {f["Properties"]["Runtime"] for f in functions.values()} == {RUNTIME}
    with zipfile.ZipFile(package_dir / "deployment.zip") as archive:
        extensions = [n for n in archive.namelist() if n.endswith(".so")]
    assert extensions, "expected the compiled dependencies (cryptography, cffi)"
    assert [n for n in extensions if ".abi3." not in n and ".cpython-312-" not in n] == []


def test_the_role_allows_only_item_actions_on_the_app_tables(template: Template) -> None:
    functions = _resources(template, "AWS::Serverless::Function").values()
    roles = {json.dumps(f["Properties"]["Role"], sort_keys=True) for f in functions}
    assert roles == {json.dumps({"Fn::GetAtt": ["DefaultRole", "Arn"]}, sort_keys=True)}
    tables = _resources(template, "AWS::DynamoDB::Table")
    statements = [
        s
        for policy in template["Resources"]["DefaultRole"]["Properties"]["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
    ]
    assert all(s["Effect"] == "Allow" for s in statements)
    actions = [a for s in statements for a in s["Action"]]
    assert {a.split(":")[0] for a in actions} == {"logs", "dynamodb"}
    assert [a for a in actions if "*" in a] == []
    dynamodb = [s for s in statements if any(a.startswith("dynamodb:") for a in s["Action"])]
    assert {a for s in dynamodb for a in s["Action"]} == {
        "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
        "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
        "dynamodb:Query",
    }
    table_arns = [r for s in dynamodb for r in s["Resource"] if "Fn::GetAtt" in r]
    assert sorted(r["Fn::GetAtt"][0] for r in table_arns) == sorted(tables)
    assert {r["Fn::GetAtt"][1] for r in table_arns} == {"Arn"}
    index_arns = sorted(r["Fn::Sub"] for s in dynamodb for r in s["Resource"] if "Fn::Sub" in r)
    assert index_arns == sorted(
        f"${{{name}.Arn}}/index/{index['IndexName']}"
        for name, table in tables.items()
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
        for index in table["Properties"].get(key, [])
    )
    on_indexes = [s for s in dynamodb if any("Fn::Sub" in r for r in s["Resource"])]
    assert all(s["Action"] == ["dynamodb:Query"] for s in on_indexes)


def test_the_app_makes_no_call_the_role_does_not_allow() -> None:
    """A Scan or DescribeTable outside the local stack would be AccessDenied once deployed:
    grant it in infra/resources.py (and list it here) or serve the pattern with a Query."""
    sources = [PROJECT_DIR / "app.py", *(PROJECT_DIR / "chalicelib").rglob("*.py")]
    assert [call for path in sorted(sources) for call in _ungranted_calls(path)] == []


def _ungranted_calls(path: Path) -> list[str]:
    """The calls of UNGRANTED_CALLS in a file outside LOCAL_ONLY, as `file:function:line`."""
    relative = path.relative_to(PROJECT_DIR).as_posix()
    found: list[str] = []

    def visit(node: ast.AST, where: str) -> None:
        if where.startswith(LOCAL_ONLY):
            return
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, f"{relative}:{child.name}")
                continue
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr in UNGRANTED_CALLS
            ):
                found.append(f"{where}:{child.lineno} needs {UNGRANTED_CALLS[child.func.attr]}")
            visit(child, where)

    visit(ast.parse(path.read_text(), relative), relative)
    return found


def test_secrets_are_noecho_parameters_without_defaults(template: Template) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert sorted(variables) == sorted(SECRET_NAMES)
    for name in SECRET_NAMES:
        parameter = template["Parameters"][variables[name]["Ref"]]
        assert parameter["NoEcho"] is True
    assert [p for p in template["Parameters"].values() if "Default" in p] == []
    for function in _resources(template, "AWS::Serverless::Function").values():
        assert not set(function["Properties"]["Environment"]["Variables"]) & set(SECRET_NAMES)
    text = json.dumps(template)
    assert [value for value in CANARIES.values() if value in text] == []
    stages = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())["stages"]
    assert [s for s in stages if set(stage_environment(s)) & set(SECRET_NAMES)] == []


def test_the_package_imports_on_python312(package_dir: Path, tmp_path: Path) -> None:
    python = _python312()
    with zipfile.ZipFile(package_dir / "deployment.zip") as archive:
        archive.extractall(tmp_path)
        extensions = [n for n in archive.namelist() if n.endswith(".so")]
    modules = ["app", *(n.split(".")[0].replace("/", ".") for n in extensions)]
    result = subprocess.run(
        [python, "-I", "-c", IMPORT_SCRIPT, *modules],
        cwd=tmp_path,
        env={**stage_environment(STAGE), "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def _python312() -> str:
    """A working python3.12 interpreter (PATH, else pyenv's versions); skips the test if none."""
    pyenv = Path.home() / ".pyenv" / "versions"
    candidates = [shutil.which("python3.12"), *sorted(glob.glob(f"{pyenv}/3.12*/bin/python3.12"))]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    pytest.skip("no python3.12 interpreter to import the package with")
