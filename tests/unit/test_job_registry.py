"""Every job has a schedule, and the app schedules each job at the cron its registry entry names
(the one table `GET /v1/admin/jobs` lists)."""
from __future__ import annotations

from chalice.app import ScheduledEventConfig

import app
from chalicelib.jobs.registry import JOBS, SCHEDULES, job_list


def test_every_job_is_scheduled_at_its_registry_cron() -> None:
    assert sorted(SCHEDULES) == sorted(JOBS)
    scheduled = {source.name: source.schedule_expression.to_string()
                 for source in app.app.event_sources if isinstance(source, ScheduledEventConfig)}
    assert scheduled == {name: schedule.cron.to_string() for name, schedule in SCHEDULES.items()}
    assert [job["schedule"] for job in job_list()] == [scheduled[name] for name in SCHEDULES]
