"""Wiring only: the Chalice app, its blueprints, the middleware that puts the request ids on every
log line and the one that keeps every error in the contract's envelope, and the scheduled jobs
(their EventBridge crons, in UTC, are in `chalicelib.jobs.registry.SCHEDULES`)."""
import json
import os

from chalice.app import Chalice, CloudWatchEvent, SQSEvent

from chalicelib.api import (
    admin,
    analytics,
    checkouts,
    coupons,
    members,
    openapi,
    orders,
    rewards,
    segments,
    wechat,
)
from chalicelib.api.http import envelope_middleware
from chalicelib.clock import parse_instant
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
from chalicelib.jobs.registry import SCHEDULES, run_job, run_queued_segment
from chalicelib.logs import bind_invocation

app = Chalice(app_name="member-loyalty")
app.register_middleware(bind_invocation, "all")
app.register_middleware(envelope_middleware, "http")
app.register_blueprint(members.bp)
app.register_blueprint(admin.bp)
app.register_blueprint(orders.bp)
app.register_blueprint(coupons.bp)
app.register_blueprint(rewards.bp)
app.register_blueprint(checkouts.bp)
app.register_blueprint(segments.bp)
app.register_blueprint(wechat.bp)
app.register_blueprint(analytics.bp)
app.register_blueprint(openapi.bp)


@app.schedule(SCHEDULES[points_reset.NAME].cron, name=points_reset.NAME)
def yearly_points_reset(event: CloudWatchEvent) -> None:
    """00:00 Shanghai, 1 January: write the expire entries of the year that just ended."""
    run_job(points_reset.NAME, parse_instant(event.time))


@app.schedule(SCHEDULES[tier_review.NAME].cron, name=tier_review.NAME)
def yearly_tier_review(event: CloudWatchEvent) -> None:
    """00:10 Shanghai, 1 January: record the tiers that fell as old growth aged out."""
    run_job(tier_review.NAME, parse_instant(event.time))


@app.schedule(SCHEDULES[coupon_expiry.NAME].cron, name=coupon_expiry.NAME)
def daily_coupon_expiry(event: CloudWatchEvent) -> None:
    """00:05 Shanghai every day: mark the coupons that ended as expired (for reporting) and remind
    the holders of those ending within 3 days."""
    run_job(coupon_expiry.NAME, parse_instant(event.time))


@app.schedule(SCHEDULES[member_day.NAME].cron, name=member_day.NAME)
def daily_member_day(event: CloudWatchEvent) -> None:
    """00:30 Shanghai every day: on a member day, issue its coupon and send its notice."""
    run_job(member_day.NAME, parse_instant(event.time))


@app.schedule(SCHEDULES[birthday_gifts.NAME].cron, name=birthday_gifts.NAME)
def monthly_birthday_gifts(event: CloudWatchEvent) -> None:
    """00:20 Shanghai on the 1st of each month (16:20 UTC on the last day of the month before):
    give the members born this month their birthday coupon."""
    run_job(birthday_gifts.NAME, parse_instant(event.time))


@app.schedule(SCHEDULES[points_expiring.NAME].cron, name=points_expiring.NAME)
def december_points_expiring(event: CloudWatchEvent) -> None:
    """10:00 Shanghai every day of December: remind members of the points expiring on 1 January."""
    run_job(points_expiring.NAME, parse_instant(event.time))


@app.schedule(SCHEDULES[rfm_segments.NAME].cron, name=rfm_segments.NAME)
def daily_rfm_segments(event: CloudWatchEvent) -> None:
    """01:00 Shanghai every day (17:00 UTC the day before): snapshot every member's RFM segment and
    tag the members whose segment changed."""
    run_job(rfm_segments.NAME, parse_instant(event.time))


@app.schedule(SCHEDULES[automations.NAME].cron, name=automations.NAME)
def daily_automations(event: CloudWatchEvent) -> None:
    """09:00 Shanghai every day (01:00 UTC): enter the members the lapsed, no-first-order and
    tier-at-risk automations select, and reward the treated ones."""
    run_job(automations.NAME, parse_instant(event.time))


@app.schedule(SCHEDULES[checkout_expiry.NAME].cron, name=checkout_expiry.NAME)
def hourly_checkout_expiry(event: CloudWatchEvent) -> None:
    """Every hour at :15: record the checkout holds that lapsed as expired and tidy what they held
    (reads never wait for it)."""
    run_job(checkout_expiry.NAME, parse_instant(event.time))


@app.on_sqs_message(queue=os.environ.get("JOBS_QUEUE_NAME", "member-loyalty-jobs"), batch_size=1)
def job_segments(event: SQSEvent) -> None:
    """One segment of a fanned-out job (a shard, one page at a time)."""
    for record in event:
        run_queued_segment(json.loads(record.body))
