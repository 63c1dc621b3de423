"""Package one stage for deployment: `python -m infra.package OUTDIR [--stage dev]`.

Writes OUTDIR/sam.json and OUTDIR/deployment.zip: `chalice package` output with the fragment of
`infra.resources` merged in, the zip slimmed and compiled for python3.12 by `infra.slim` (a
python3.12 must be on PATH or under pyenv, and binutils' `strip`). The README's Deployment section
walks through uploading it and creating the stack, in an AWS global region or a China region.

Chalice targets the Lambda runtime of the interpreter it runs in (`Config.lambda_python_version`,
no setting exists). This entry point runs chalice in-process with that property pinned to
`LAMBDA_RUNTIME`, so the project's venv packages for it whatever its own Python: chalice fetches
manylinux wheels for that runtime's ABI for every compiled dependency (cached under
`.chalice/deployments`, keyed by runtime) and writes that `Runtime` for every function.
Dependencies are still resolved under this interpreter's environment markers; requirements.txt
pins the whole closure, and tests/integration/test_infra.py imports the package on python3.12.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from infra import PROJECT_DIR, stage_environment
from infra.slim import python312, slim

LAMBDA_RUNTIME = "python3.12"


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, build the merge template for the stage and run `chalice package`."""
    parser = argparse.ArgumentParser(prog="python -m infra.package", description=__doc__)
    parser.add_argument("outdir", type=Path, help="directory for sam.json and deployment.zip")
    parser.add_argument("--stage", default="dev", help="a stage of .chalice/config.json")
    args = parser.parse_args(argv)
    try:
        environment = stage_environment(args.stage)
    except ValueError as error:
        parser.error(str(error))
    python = python312()
    if python is None:
        parser.error("no python3.12 found (PATH or ~/.pyenv/versions): it compiles the package's bytecode")
    # As chalice does before it imports app.py: the stage's environment first, so that the
    # schema's table names carry the stage's TABLE_PREFIX.
    os.environ.update(environment)
    # Chalice builds an AWS client and needs a region for it; the template uses ${AWS::Region}.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from infra.console import with_console
    from infra.resources import build_merge_template

    try:
        fragment = with_console(build_merge_template(args.stage))
    except ValueError as error:
        parser.error(str(error))
    with tempfile.TemporaryDirectory() as tmp:
        merge_template = Path(tmp) / "merge-template.json"
        merge_template.write_text(json.dumps(fragment, indent=2))
        _chalice_package(args.stage, merge_template, args.outdir)
    slim(args.outdir / "deployment.zip", python)


def _chalice_package(stage: str, merge_template: Path, outdir: Path) -> None:
    """Run `chalice package` for `LAMBDA_RUNTIME`; raises on failure."""
    from chalice.cli import cli

    _target_runtime(LAMBDA_RUNTIME)
    cli.main(
        args=[
            "--project-dir", str(PROJECT_DIR),
            "package", "--stage", stage, "--merge-template", str(merge_template), str(outdir),
        ],
        prog_name="chalice",
        obj={},
        standalone_mode=False,
    )


def _target_runtime(runtime: str) -> None:
    """Make this process's chalice build for `runtime` rather than for the running interpreter.

    Two gaps of chalice 1.34 (aws/chalice#1707): the runtime comes from `sys.version_info` only,
    and its download of manylinux wheels passes `--abi` without `--python-version`, so pip
    matches e.g. cp312 wheels against this interpreter's version and finds none.
    """
    from chalice.config import Config
    from chalice.deploy.packager import PipRunner

    python_version = runtime.removeprefix("python")
    execute = PipRunner._execute

    def execute_for_runtime(
        runner: PipRunner,
        command: str,
        args: list[str],
        env_vars: dict[str, str] | None = None,
        shim: str | None = None,
    ) -> tuple[int, bytes, bytes]:
        if command == "download" and "--abi" in args:
            args = ["--python-version", python_version, *args]
        return execute(runner, command, args, env_vars, shim)

    Config.lambda_python_version = property(lambda _config: runtime)  # type: ignore[assignment]
    PipRunner._execute = execute_for_runtime  # type: ignore[method-assign]


if __name__ == "__main__":
    main()
