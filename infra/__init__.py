"""Deployment: the stage's AWS resources as a template merged into `chalice package` output.

`resources.build_merge_template` derives the tables and permissions from the pynamodb models in
`chalicelib/store/tables.py` (the registry of every aggregate store's models), the same registry
the local stack creates its tables from, and adds the jobs queue the stage's `JOBS_QUEUE_NAME` names;
`python -m infra.package OUTDIR --stage dev` writes the deployable SAM template and zip.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHALICE_CONFIG = PROJECT_DIR / ".chalice" / "config.json"


def stage_environment(stage: str) -> dict[str, str]:
    """The Lambda environment `.chalice/config.json` gives `stage` (stage values win)."""
    config = _chalice_config(stage)
    return {
        **config.get("environment_variables", {}),
        **config["stages"][stage].get("environment_variables", {}),
    }


def function_timeout(stage: str, function: str) -> int:
    """The `lambda_timeout` chalice gives `function` in `stage`, looked up as chalice does."""
    from chalice.config import Config
    from chalice.constants import DEFAULT_LAMBDA_TIMEOUT

    config = Config(
        chalice_stage=stage,
        function_name=function,
        config_from_disk=_chalice_config(stage),
        default_params={"lambda_timeout": DEFAULT_LAMBDA_TIMEOUT},
    )
    return int(config.lambda_timeout)


def _chalice_config(stage: str) -> dict[str, Any]:
    """The whole `.chalice/config.json`; raises ValueError when it has no `stage`."""
    config: dict[str, Any] = json.loads(CHALICE_CONFIG.read_text())
    if stage not in config["stages"]:
        known = ", ".join(sorted(config["stages"]))
        raise ValueError(f"unknown stage {stage!r}; .chalice/config.json has {known}")
    return config
