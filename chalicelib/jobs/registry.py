"""The jobs by name: when EventBridge starts each (UTC cron) and what it does, in the merchant's
words; what the schedules, the queue handler, `GET /v1/admin/jobs` and
`POST /v1/admin/jobs/{job}/run` call."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalice.app import Cron

from chalicelib import clock, wiring
from chalicelib.errors import NotFound
from chalicelib.jobs import (
    automations,
    birthday_gifts,
    checkout_expiry,
    coupon_expiry,
    member_day,
    points_expiring,
    points_reset,
    rfm_segments,
    tier_review,
)
from chalicelib.jobs.fanout import Segment
from chalicelib.jobs.sharded import ShardedJob, run_segment, start

JOBS: dict[str, ShardedJob] = {job.name: job for job in (
    points_reset.JOB, tier_review.JOB, coupon_expiry.JOB, member_day.JOB, birthday_gifts.JOB, points_expiring.JOB,
    rfm_segments.JOB, automations.JOB, checkout_expiry.JOB,
)}


@dataclass(frozen=True)
class Schedule:
    """When a job runs (an EventBridge cron, in UTC) and what it does (its title and summary, with
    the time in Shanghai)."""

    cron: Cron
    title: str
    summary: str


SCHEDULES: dict[str, Schedule] = {
    rfm_segments.NAME: Schedule(Cron(0, 17, "*", "*", "?", "*"), "RFM 分群",
                                "每天 01:00：给每位会员计算 RFM 分群，生成快照与迁移"),
    automations.NAME: Schedule(Cron(0, 1, "*", "*", "?", "*"), "自动化营销",
                               "每天 09:00：回归礼包、首单激励、保级提醒（连续购买在下单时触发）"),
    member_day.NAME: Schedule(Cron(30, 16, "*", "*", "?", "*"), "会员日", "每天 00:30：会员日当天发会员日券与提醒"),
    birthday_gifts.NAME: Schedule(Cron(20, 16, "L", "*", "?", "*"), "生日礼",
                                  "每月 1 日 00:20：给本月生日的会员发生日券"),
    coupon_expiry.NAME: Schedule(Cron(5, 16, "*", "*", "?", "*"), "优惠券过期",
                                 "每天 00:05：标记过期的券，提醒 3 天内到期的券"),
    points_expiring.NAME: Schedule(Cron(0, 2, "*", "12", "?", "*"), "积分过期提醒",
                                   "12 月每天 10:00：提醒 1 月 1 日将清零的积分"),
    tier_review.NAME: Schedule(Cron(10, 16, 31, 12, "?", "*"), "等级复核",
                               "1 月 1 日 00:10：按新的成长值调整等级并通知"),
    points_reset.NAME: Schedule(Cron(0, 16, 31, 12, "?", "*"), "年度积分清零", "1 月 1 日 00:00：写入过期积分的流水"),
    checkout_expiry.NAME: Schedule(Cron(15, "*", "*", "*", "?", "*"), "结算锁定过期",
                                   "每小时 15 分：把到期未确认的结算记为过期（到期时锁定的积分与券已自动释放）"),
}


def job_list() -> list[dict[str, Any]]:
    """Every job: its name, title, summary, schedule and the counts a run of it answers."""
    return [{"name": name, "title": schedule.title, "summary": schedule.summary,
             "schedule": schedule.cron.to_string(), "counts": list(JOBS[name].counts)}
            for name, schedule in SCHEDULES.items()]


def run_job(name: str, as_of: datetime, *, dry_run: bool = False) -> dict[str, Any]:
    """Start a job as of an instant (the event time, or the clock for a manual run)."""
    if name not in JOBS:
        raise NotFound(f"没有名为 {name} 的任务")
    counts = start(JOBS[name], wiring.uow(), wiring.wechat(), as_of, dry_run=dry_run)
    return {"job": name, "as_of": clock.render(as_of), "dry_run": dry_run, **counts}


def run_queued_segment(segment: Segment) -> dict[str, Any]:
    """Handle one queued segment of a job."""
    return dict(run_segment(JOBS[segment["job"]], wiring.uow(), wiring.wechat(), segment))
