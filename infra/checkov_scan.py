"""checkov's CloudFormation checks on a template: `python infra/checkov_scan.py TEMPLATE`, run by the
interpreter of checkov's own venv (`.venv/checkov`, see requirements-checkov.txt).

Prints one JSON object (passed, failed and skipped checks, with each skip's reason) and exits 1
when a check fails, a skip gives no reason, or the template does not parse.

checkov's graph resolves every `Fn::Sub` naming a pseudo parameter through a JSONPath parser that
its `bc_jsonpath_ng` builds anew each time, regenerating PLY's parse tables (0.1 s each, some 200
times for this template's API definition). PLY reads those tables from a module when one exists:
`cache_parse_tables` writes it once into the venv, as PLY itself does when it may write tables.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def cache_parse_tables() -> None:
    """Write the JSONPath grammar's PLY tables next to its parser, once."""
    import ply.yacc
    from bc_jsonpath_ng.ext import parser

    folder = Path(parser.__file__).parent
    if not (folder / "parser_jsonpath_parsetab.py").exists():
        ply.yacc.yacc(module=parser.ExtentedJsonPathParser(), debug=False, tabmodule="parser_jsonpath_parsetab",
                      outputdir=str(folder), write_tables=True, start="jsonpath")


def scan(template: str) -> dict[str, Any]:
    """checkov's CloudFormation results for the template."""
    from checkov.cloudformation.runner import Runner
    from checkov.runner_filter import RunnerFilter

    report = Runner().run(root_folder=None, files=[template], runner_filter=RunnerFilter(framework=["cloudformation"]))
    return {
        "passed": len(report.passed_checks),
        "failed": [f"{c.check_id} {c.resource}: {c.check_name}" for c in report.failed_checks],
        "skipped": [{"check": c.check_id, "resource": c.resource,
                     "reason": (c.check_result.get("suppress_comment") or "").strip()} for c in report.skipped_checks],
        "parsing_errors": list(report.parsing_errors),
    }


def main() -> int:
    """Scan the template named on the command line; 1 unless everything passed or was skipped with a reason."""
    cache_parse_tables()
    results = scan(sys.argv[1])
    print(json.dumps(results, indent=1))
    unexplained = [s for s in results["skipped"] if not s["reason"]]
    return 1 if results["failed"] or results["parsing_errors"] or unexplained or not results["passed"] else 0


if __name__ == "__main__":
    sys.exit(main())
