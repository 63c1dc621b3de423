"""Deployment: the stage's AWS resources as a template merged into `chalice package` output.

`resources.build_merge_template` derives the tables and permissions from the pynamodb models in
`chalicelib/store/schema.py`, the same registry the local stack creates its tables from;
`python -m infra.package OUTDIR --stage dev` writes the deployable SAM template and zip.
"""
from __future__ import annotations

import json
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHALICE_CONFIG = PROJECT_DIR / ".chalice" / "config.json"


def stage_environment(stage: str) -> dict[str, str]:
    """The Lambda environment `.chalice/config.json` gives `stage` (stage values win)."""
    config = json.loads(CHALICE_CONFIG.read_text())
    if stage not in config["stages"]:
        known = ", ".join(sorted(config["stages"]))
        raise ValueError(f"unknown stage {stage!r}; .chalice/config.json has {known}")
    return {
        **config.get("environment_variables", {}),
        **config["stages"][stage].get("environment_variables", {}),
    }
