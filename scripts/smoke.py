"""Smoke-test a deployed stage: `python scripts/smoke.py BASE_URL ADMIN_KEY`.

BASE_URL is the API's root (`https://api.example.com/` on a custom domain, or the stack's
`EndpointURL`, which ends in `/api/`). Checks, with the standard library only: the health route
answers, the OpenAPI document is served, the admin program reads with the key and is refused
without it, and a member route refuses a request without a token in the contract's envelope.
Exits 1 on the first failure.
"""
from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from typing import Any

TIMEOUT_SECONDS = 15


def call(base: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """GET base + path: (status, parsed JSON body or None)."""
    request = urllib.request.Request(base.rstrip("/") + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            status, body = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    try:
        return status, json.loads(body) if body else None
    except ValueError:
        return status, None


def main(argv: list[str]) -> int:
    """Run the checks; print one line each."""
    if len(argv) != 2:
        print(__doc__)
        return 2
    base, key = argv
    checks = [
        ("GET /v1/health answers 200", lambda: call(base, "/v1/health")[0] == 200),
        ("GET /v1/openapi.json is an OpenAPI document",
         lambda: str((call(base, "/v1/openapi.json")[1] or {}).get("openapi", "")).startswith("3.")),
        ("GET /v1/admin/program with the admin key answers the program",
         lambda: call(base, "/v1/admin/program", {"X-Admin-Key": key})[0] == 200),
        ("GET /v1/admin/program without the key is 401",
         lambda: call(base, "/v1/admin/program")[0] == 401),
        ("GET /v1/members/me without a token is 401 UNAUTHENTICATED",
         lambda: (call(base, "/v1/members/me")[1] or {}).get("error", {}).get("code") == "UNAUTHENTICATED"),
    ]
    for label, check in checks:
        passed = check()
        print(f"{'ok  ' if passed else 'FAIL'} {label}")
        if not passed:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
