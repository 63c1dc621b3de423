"""`GET /v1/admin/jobs`: every job the merchant can run, with its schedule; what it lists is what
`POST /v1/admin/jobs/{job}/run` runs and what its counts are."""
from __future__ import annotations

import re

from helpers import Api

CRON = re.compile(r"cron\((\S+ ){5}\S+\)")


def test_the_job_list_names_every_job_with_its_schedule_and_counts(api: Api) -> None:
    status, body = api.call("GET", "/v1/admin/jobs", admin=True)
    assert status == 200 and list(body) == ["items"], body
    jobs = {job["name"]: job for job in body["items"]}
    assert len(jobs) == len(body["items"]) >= 9
    assert {"yearly-points-reset", "member-day", "birthday-gifts", "coupon-expiry", "tier-review", "points-expiring",
            "rfm-segments", "automations", "checkout-expiry"} <= set(jobs)
    assert jobs["checkout-expiry"]["schedule"] == "cron(15 * * * ? *)"
    assert jobs["yearly-points-reset"]["schedule"] == "cron(0 16 31 12 ? *)"
    for name, job in jobs.items():
        assert CRON.fullmatch(job["schedule"]) and job["title"] and job["summary"] and job["counts"], job
        status, run = api.call("POST", f"/v1/admin/jobs/{name}/run", {"dry_run": True}, admin=True)
        assert status == 200 and run["job"] == name and run["dry_run"] is True, run
        assert set(job["counts"]) <= set(run), (job, run)
