"""CORS for the merchant console (§4): a preflight from a listed origin is answered with the
methods and headers the console needs, and answers carry that origin; any other origin gets no
CORS header at all."""
from __future__ import annotations

from chalice.test import Client

CONSOLE = "https://console.example.com"


def test_a_listed_origin_gets_its_preflight_and_its_answers_allowed(client: Client, admin_headers) -> None:
    preflight = client.http.request("OPTIONS", "/v1/admin/program", headers={
        "Origin": CONSOLE, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "x-admin-key,content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == CONSOLE
    assert "PUT" in preflight.headers["Access-Control-Allow-Methods"]
    assert "X-Admin-Key" in preflight.headers["Access-Control-Allow-Headers"]
    answer = client.http.get("/v1/admin/program", headers={**admin_headers, "Origin": CONSOLE})
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == CONSOLE
    refused = client.http.get("/v1/admin/program", headers={"Origin": CONSOLE})
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == CONSOLE


def test_an_unlisted_origin_gets_no_cors_headers(client: Client, admin_headers) -> None:
    for origin in ("https://evil.example.com", "null", CONSOLE + ".evil.com"):
        preflight = client.http.request("OPTIONS", "/v1/admin/members/m1", headers={"Origin": origin})
        answer = client.http.get("/v1/admin/program", headers={**admin_headers, "Origin": origin})
        assert not any(h.lower().startswith("access-control-") for h in {**preflight.headers, **answer.headers})
