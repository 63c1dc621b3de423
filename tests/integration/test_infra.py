"""The deployment template of the `dev` stage: built by `python -m infra.package`, linted by
cfn-lint and checkov, and checked against the pynamodb models it is generated from: a role per
function with only its tables, secrets from Secrets Manager, alarms, logs and the China-ready API."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from chalicelib.config import SECRET_SETTINGS
from infra import PROJECT_DIR, access, stage_environment
from infra.slim import BOTOCORE_SERVICES

STAGE = "dev"
RUNTIME = "python3.12"
SECRET_NAMES = SECRET_SETTINGS
# The models as the stage's Lambda sees them: imported under the stage's environment.
MODELS_SCRIPT = """
import json
from chalicelib.store.tables import ALL_MODELS, TTL_ATTRIBUTES
print(json.dumps([
    {
        "table": m.Meta.table_name,
        "schema": m._get_schema(),
        "ttl": m.get_attributes()[TTL_ATTRIBUTES[m]].attr_name if m in TTL_ATTRIBUTES else None,
    }
    for m in ALL_MODELS
]))
"""
# pynamodb and SQS client calls that need an action the role does not grant, and that action.
UNGRANTED_CALLS = {
    "scan": "dynamodb:Scan",
    "exists": "dynamodb:DescribeTable",
    "describe_table": "dynamodb:DescribeTable",
    "create_table": "dynamodb:CreateTable",
    "delete_table": "dynamodb:DeleteTable",
    "update_ttl": "dynamodb:UpdateTimeToLive",
    "get_queue_url": "sqs:GetQueueUrl",
    "create_queue": "sqs:CreateQueue",
    "purge_queue": "sqs:PurgeQueue",
}
# Where those calls belong: the local stack, which runs with local credentials (the rest of it,
# devstack/, is outside the scan).
LOCAL_ONLY = ("chalicelib/store/tables.py:create_missing_tables",)
# Top-level modules of the dev stack that no module of the deployment package may import.
DEV_ONLY_MODULES = {"moto", "werkzeug", "devstack"}
# Clients the app may create: the services whose actions the role grants.
GRANTED_SERVICES = set(BOTOCORE_SERVICES)
# Shanghai keeps UTC+8 all year (no daylight saving since 1991).
SHANGHAI = timezone(timedelta(hours=8))
# The scheduled handlers of app.py and the Shanghai time of their last 2026 firing.
SCHEDULES = {
    "app.yearly_points_reset": datetime(2027, 1, 1, 0, 0, tzinfo=SHANGHAI),
    "app.yearly_tier_review": datetime(2027, 1, 1, 0, 10, tzinfo=SHANGHAI),
    "app.daily_coupon_expiry": datetime(2027, 1, 1, 0, 5, tzinfo=SHANGHAI),
    "app.daily_member_day": datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI),
    "app.monthly_birthday_gifts": datetime(2027, 1, 1, 0, 20, tzinfo=SHANGHAI),
    "app.december_points_expiring": datetime(2026, 12, 31, 10, 0, tzinfo=SHANGHAI),
    "app.daily_rfm_segments": datetime(2027, 1, 1, 1, 0, tzinfo=SHANGHAI),
    "app.daily_automations": datetime(2026, 12, 31, 9, 0, tzinfo=SHANGHAI),
    "app.hourly_checkout_expiry": datetime(2027, 1, 1, 7, 15, tzinfo=SHANGHAI),
}
JOBS_HANDLER = "app.job_segments"
# Queue permissions: sending (fan-out), and consuming (the SQS event source mapping).
SQS_ACTIONS = {
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
}
Template = dict[str, Any]


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


def _statements(template: Template, role: str | None = None) -> list[Template]:
    """Every statement of one role, or of every function's role."""
    roles = [role] if role else [f["Properties"]["Role"]["Fn::GetAtt"][0]
                                 for f in _resources(template, "AWS::Serverless::Function").values()]
    return [s for name in roles for policy in template["Resources"][name]["Properties"]["Policies"]
            for s in policy["PolicyDocument"]["Statement"]]


def _function(template: Template, handler: str) -> Template:
    """The one function of the template with this handler."""
    functions = _resources(template, "AWS::Serverless::Function").values()
    [function] = [f for f in functions if f["Properties"]["Handler"] == handler]
    return function


def _jobs_queue(template: Template) -> tuple[str, Template]:
    """The logical id and resource of the queue named by the stage's JOBS_QUEUE_NAME."""
    name = stage_environment(STAGE)["JOBS_QUEUE_NAME"]
    queues = _resources(template, "AWS::SQS::Queue").items()
    [(queue_id, queue)] = [(i, q) for i, q in queues if q["Properties"]["QueueName"] == name]
    return queue_id, queue


def _shanghai_time(schedule: str, year: int) -> datetime:
    """When an EventBridge cron (UTC; minute a single value, hour a single value or `*`, day and
    month single values or `*`, day also `L`) last fires in `year`, in Shanghai time."""
    assert schedule.startswith("cron(") and schedule.endswith(")"), schedule
    minute, hour, day, month, day_of_week, years = schedule[len("cron("):-1].split(" ")
    assert (day_of_week, years) == ("?", "*"), schedule
    fires = datetime(year, 12 if month == "*" else int(month), 31 if day in ("*", "L") else int(day),
                     23 if hour == "*" else int(hour), int(minute), tzinfo=timezone.utc)
    return fires.astimezone(SHANGHAI)


def test_template_is_lint_clean(package_dir: Path) -> None:
    """No error, warning or informational finding (cfn-lint merges the SAM Globals and checks the
    SAM resources against their schemas; it does not check references inside them)."""
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
    assert extensions, "expected the compiled dependencies (pycryptodome)"
    assert [n for n in extensions if ".abi3." not in n and ".cpython-312-" not in n] == []


def test_the_schedules_run_at_their_shanghai_times(
    template: Template,
) -> None:
    for handler, last_2026_firing in SCHEDULES.items():
        [event] = _function(template, handler)["Properties"]["Events"].values()
        assert event["Type"] == "Schedule", handler
        # Its last 2026 firing (UTC), in Shanghai: for most, the first minutes of 2027.
        fires = _shanghai_time(event["Properties"]["Schedule"], 2026)
        assert fires == last_2026_firing, handler
        assert _function(template, handler)["Properties"]["Timeout"] == 300, handler
    functions = _resources(template, "AWS::Serverless::Function").values()
    scheduled = [
        f["Properties"]["Handler"]
        for f in functions
        for e in f["Properties"].get("Events", {}).values()
        if e["Type"] == "Schedule"
    ]
    assert sorted(scheduled) == sorted(SCHEDULES)


def test_the_jobs_queue_is_encrypted_and_redrives_to_a_dead_letter_queue(
    template: Template,
) -> None:
    queue_id, queue = _jobs_queue(template)
    queues = _resources(template, "AWS::SQS::Queue")
    [dead_letter_id] = set(queues) - {queue_id}
    props, dead_letter = queue["Properties"], queues[dead_letter_id]["Properties"]
    assert props["SqsManagedSseEnabled"] is dead_letter["SqsManagedSseEnabled"] is True
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dead_letter_id, "Arn"]},
        "maxReceiveCount": 5,
    }
    assert "RedrivePolicy" not in dead_letter
    assert dead_letter["MessageRetentionPeriod"] == 14 * 24 * 60 * 60
    assert props["MessageRetentionPeriod"] < dead_letter["MessageRetentionPeriod"]
    consumer_timeout = _function(template, JOBS_HANDLER)["Properties"]["Timeout"]
    assert consumer_timeout == 300
    assert props["VisibilityTimeout"] >= 6 * consumer_timeout


def test_job_segments_consumes_the_jobs_queue_and_every_function_can_reach_it(
    template: Template,
) -> None:
    queue_id, queue = _jobs_queue(template)
    function = _function(template, JOBS_HANDLER)["Properties"]
    [event] = function["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::Sub": f"${{{queue_id}.Arn}}"}
    assert event["Properties"]["BatchSize"] == 1
    functions = _resources(template, "AWS::Serverless::Function").values()
    consumers = [
        f["Properties"]["Handler"]
        for f in functions
        for e in f["Properties"].get("Events", {}).values()
        if e["Type"] == "SQS"
    ]
    assert consumers == [JOBS_HANDLER]
    shared = template["Globals"]["Function"]["Environment"]["Variables"]
    assert shared["JOBS_QUEUE_URL"] == {"Ref": queue_id}
    for f in functions:
        variables = f["Properties"]["Environment"]["Variables"]
        assert "JOBS_QUEUE_URL" not in variables
        # What app.py read at packaging time to name the queue, and reads again at run time.
        assert variables["JOBS_QUEUE_NAME"] == queue["Properties"]["QueueName"]


def test_each_function_has_a_role_of_its_own(template: Template) -> None:
    functions = _resources(template, "AWS::Serverless::Function")
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()]
    assert len(set(roles)) == len(functions) == 11
    assert "DefaultRole" not in template["Resources"]
    assert "replaced-by-infra" not in json.dumps(template)


def test_only_the_worker_consumes_the_queue_and_every_function_may_queue_segments(template: Template) -> None:
    queue_id, _queue = _jobs_queue(template)
    for name, function in _resources(template, "AWS::Serverless::Function").items():
        sqs = [s for s in _statements(template, function["Properties"]["Role"]["Fn::GetAtt"][0])
               if any(a.startswith("sqs:") for a in s["Action"])]
        expected = SQS_ACTIONS if function["Properties"]["Handler"] == JOBS_HANDLER else {"sqs:SendMessage"}
        assert {a for s in sqs for a in s["Action"]} == expected, name
        assert all(s["Resource"] == [{"Fn::GetAtt": [queue_id, "Arn"]}] for s in sqs)


def test_the_roles_allow_only_item_actions_on_their_own_tables(template: Template) -> None:
    tables = _resources(template, "AWS::DynamoDB::Table")
    allowed = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
               "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    statements = _statements(template)
    assert all(s["Effect"] == "Allow" for s in statements)
    actions = [a for s in statements for a in s["Action"]]
    assert {a.split(":")[0] for a in actions} == {"logs", "dynamodb", "sqs", "secretsmanager", "xray"}
    assert [a for a in actions if "*" in a] == []
    assert {a for a in actions if a.startswith("dynamodb:")} == allowed
    on_indexes = [s for s in statements if any("Fn::Sub" in r for r in s["Resource"]) and s["Sid"] != "OwnLogs"]
    assert on_indexes and all(s["Action"] == ["dynamodb:Query"] for s in on_indexes)
    api = _statements(template, "APIHandlerRole")
    assert sorted(s["Resource"][0]["Fn::GetAtt"][0] for s in api if s["Sid"].endswith("Items")) == sorted(tables)
    deletes = {s["Sid"] for s in statements if "dynamodb:DeleteItem" in s["Action"]}
    assert "LedgerTableItems" not in deletes and "MemberTableItems" not in deletes


def test_a_scheduled_start_reads_the_program_and_touches_little_else(template: Template) -> None:
    for function in ("YearlyPointsReset", "TierReview", "CouponExpiry", "BirthdayGifts", "PointsExpiring",
                     "CheckoutExpiry"):
        statements = _statements(template, f"{function}Role")
        tables = [s for s in statements if s["Sid"].endswith("Items")]
        assert [(s["Sid"], s["Action"]) for s in tables] == [("SettingTableItems", list(access.READ))], function
        assert not [s for s in statements if s["Sid"] == "Secrets"], function


def test_each_function_writes_only_to_its_own_log_group(template: Template) -> None:
    for name, function in _resources(template, "AWS::Serverless::Function").items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        logs = [s for s in _statements(template, function["Properties"]["Role"]["Fn::GetAtt"][0]) if s["Sid"] == "OwnLogs"]
        assert [s["Resource"] for s in logs] == [[{"Fn::GetAtt": [group, "Arn"]}]], name
        assert template["Resources"][group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 30


def test_the_app_makes_no_call_the_role_does_not_allow() -> None:
    """A Scan or DescribeTable outside the local stack would be AccessDenied once deployed:
    grant it in infra/resources.py (and list it here) or serve the pattern with a Query."""
    sources = [PROJECT_DIR / "app.py", *(PROJECT_DIR / "chalicelib").rglob("*.py")]
    assert [call for path in sorted(sources) for call in _ungranted_calls(path)] == []


def _ungranted_calls(path: Path) -> list[str]:
    """The calls of UNGRANTED_CALLS, and boto3 clients or resources of a service outside
    GRANTED_SERVICES, in a file outside LOCAL_ONLY, as `file:function:line`."""
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
            service = _client_service(child)
            if service is not None and service not in GRANTED_SERVICES:
                found.append(f"{where}:{child.lineno} needs {service}")
            visit(child, where)

    visit(ast.parse(path.read_text(), relative), relative)
    return found


def _client_service(node: ast.AST) -> str | None:
    """The service of a `boto3.client("...")`, `....resource("...")` or botocore
    `session.create_client("...")` call, else None."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("client", "resource", "create_client")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


def test_the_package_holds_no_dev_stack_code(package_dir: Path) -> None:
    """The embedded store, the fake WeChat and the runner stay out of the Lambda zip, and no
    module of the app in it imports them or their dependencies."""
    with zipfile.ZipFile(package_dir / "deployment.zip") as archive:
        names = archive.namelist()
        app_modules = {
            name: archive.read(name).decode()
            for name in names
            if name == "app.py" or (name.startswith("chalicelib/") and name.endswith(".py"))
        }
    assert "app.py" in app_modules and "chalicelib/__init__.py" in app_modules
    assert [n for n in names if n.startswith("devstack/") or n.startswith("chalicelib/local")] == []
    assert {
        name: sorted(_dev_imports(source, name))
        for name, source in app_modules.items()
        if _dev_imports(source, name)
    } == {}


def _dev_imports(source: str, filename: str) -> set[str]:
    """The modules of DEV_ONLY_MODULES a module imports, anywhere in it (lazy imports included)."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module)
    return {name for name in imported if name.split(".")[0] in DEV_ONLY_MODULES}


def test_secrets_come_from_secrets_manager_and_each_function_holds_only_its_own(
    template: Template, canaries: dict[str, str]
) -> None:
    text = json.dumps(template)
    assert [value for value in canaries.values() if value in text] == []
    functions = _resources(template, "AWS::Serverless::Function")
    held = {}
    for name, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert not set(variables) & set(SECRET_NAMES), name
        readable = [r["Ref"] for s in _statements(template, function["Properties"]["Role"]["Fn::GetAtt"][0])
                    if s["Sid"] == "Secrets" for r in s["Resource"]]
        assert readable == [r["Ref"] for r in variables.get("SECRET_IDS", {"Fn::Join": [",", []]})["Fn::Join"][1]]
        held[name] = set(filter(None, variables.get("SECRET_SETTINGS", "").split(",")))
    assert held.pop("APIHandler") == set(SECRET_NAMES)
    assert held.pop("JobSegments") == {"WECHAT_APPID", "WECHAT_SECRET"}
    assert set(map(frozenset, held.values())) == {frozenset()}
    assert template["Globals"]["Function"]["Environment"]["Variables"] == {"JOBS_QUEUE_URL": {"Ref": "JobsQueue"}}
    stages = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())["stages"]
    assert [s for s in stages if set(stage_environment(s)) & set(SECRET_NAMES)] == []


def test_the_api_is_regional_by_default_and_traced_with_access_logs(template: Template) -> None:
    api = template["Resources"]["RestAPI"]["Properties"]
    assert api["EndpointConfiguration"] == {"Type": {"Ref": "EndpointType"}}
    assert template["Parameters"]["EndpointType"]["Default"] == "REGIONAL"
    assert template["Rules"]["RegionalInChina"]["Assertions"][0]["Assert"] == {
        "Fn::Equals": [{"Ref": "EndpointType"}, "REGIONAL"]}
    assert api["TracingEnabled"] is True and "DestinationArn" in api["AccessLogSetting"]
    mapping = template["Resources"]["ApiBasePath"]["Properties"]
    assert "BasePath" not in mapping and mapping["RestApiId"] == {"Ref": "RestAPI"}
    assert template["Globals"]["Function"]["Tracing"] == "Active"


def test_the_console_is_a_private_bucket_behind_https_cloudfront_and_the_apis_cors_origin(
    template: Template,
) -> None:
    """The console's hosting (infra/console.py) is in the package: only its distribution reads its
    bucket, viewers get HTTPS, and the API function allows the distribution's origin."""
    [(bucket_id, bucket)] = _resources(template, "AWS::S3::Bucket").items()
    assert set(bucket["Properties"]["PublicAccessBlockConfiguration"].values()) == {True}
    [(distribution_id, distribution)] = _resources(template, "AWS::CloudFront::Distribution").items()
    config = distribution["Properties"]["DistributionConfig"]
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["Origins"][0]["DomainName"] == {"Fn::GetAtt": [bucket_id, "RegionalDomainName"]}
    [policy] = _resources(template, "AWS::S3::BucketPolicy").values()
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"} and statement["Action"] == "s3:GetObject"
    assert f"distribution/${{{distribution_id}}}" in statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    api = _function(template, "app.app")["Properties"]["Environment"]["Variables"]
    assert api["CORS_ORIGINS"] == {"Fn::Sub": f"https://${{{distribution_id}.DomainName}}"}
    assert "ConsoleURL" in template["Outputs"] and "ConsoleBucketName" in template["Outputs"]


def test_the_alarms_notify_the_topic(template: Template) -> None:
    alarms = _resources(template, "AWS::CloudWatch::Alarm")
    assert set(alarms) == {"JobsDeadLetterAlarm", "FunctionErrorsAlarm", "FunctionThrottlesAlarm", "Api5xxRateAlarm",
                           "ApiLatencyAlarm"}
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    functions = set(_resources(template, "AWS::Serverless::Function"))
    for name in ("FunctionErrorsAlarm", "FunctionThrottlesAlarm"):
        summed = {m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]
                  for m in alarms[name]["Properties"]["Metrics"] if "MetricStat" in m}
        assert summed == functions, name
    assert alarms["ApiLatencyAlarm"]["Properties"]["ExtendedStatistic"] == "p95"
    assert "JobsDeadLetterQueueUrl" in template["Outputs"]
    reserved = {n: f["Properties"].get("ReservedConcurrentExecutions") for n, f in
                _resources(template, "AWS::Serverless::Function").items()}
    assert reserved.pop("APIHandler") is None and None not in reserved.values()
