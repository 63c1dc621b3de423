"""Least privilege: one IAM role per function, each with only its tables, indexes, actions, secrets
and its own log group.

Deployed, the functions do different things with the store:

- the API (`api_handler`) serves every aggregate, so it gets every table at the level the store
  modules use it (`store_levels`: a table some module deletes from gets DeleteItem, one it writes
  PutItem/UpdateItem, the rest reads), queues job segments and holds every secret;
- a scheduled job's function only *starts* its job: it reads the program, runs the job's `prepare`
  (automations records its run dates, rfm-segments its snapshot run, member-day reads its coupon
  template) and queues one segment per shard. It holds no secret;
- the segment worker (`job_segments`) runs every job's pages: members, their ledger and tier
  changes, coupons, notices and grants, the figures, snapshots and automation counters, the
  checkout holds that lapsed, the WeChat
  access token in the settings table; it consumes the queue (and queues a shard's next page) and
  holds WeChat's appid and secret only.

IAM checks a transaction per item (TransactWriteItems as PutItem / UpdateItem / DeleteItem,
TransactGetItems as GetItem); BatchWriteItem, ConditionCheckItem, Scan and DescribeTable are never
granted (pynamodb builds its table metadata from the models; only the local stack describes or
creates tables). Every role may write to its function's log group and send X-Ray traces (X-Ray's actions take no
resource). `SECRET_SETTINGS` says which secret settings a function holds: `chalicelib.config` reads
exactly those, from the secrets the role can read.
"""
from __future__ import annotations

import ast
from typing import Any

from chalice.utils import to_cfn_resource_name
from pynamodb.models import Model

from chalicelib.jobs import automations, member_day, rfm_segments
from chalicelib.store import (
    analytics,
    checkouts,
    coupons,
    idempotency,
    ledger,
    members,
    messaging,
    segments,
    settings,
)
from chalicelib.store import automations as automation_store
from chalicelib.store.tables import ALL_MODELS
from infra import PROJECT_DIR

Template = dict[str, Any]
READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")
WRITE = (*READ, "dynamodb:PutItem", "dynamodb:UpdateItem")
DELETE = (*WRITE, "dynamodb:DeleteItem")
LEVELS = {"Delete": DELETE, "Put": WRITE, "Update": WRITE}
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
TRACE_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
SEND_ACTIONS = ("sqs:SendMessage",)  # also authorizes SendMessageBatch
CONSUME_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                   "sqs:ChangeMessageVisibility")

API_FUNCTION = "api_handler"
WORKER_FUNCTION = "job_segments"
API_SECRET = "ApiSecret"
WECHAT_SECRET = "WeChatSecret"
# The secret settings each kind of function holds, and the secrets (logical ids) holding them.
SECRETS = {
    API_FUNCTION: ({API_SECRET: ("TOKEN_SECRET", "ADMIN_API_KEYS", "WECHAT_TOKEN", "WECHAT_ENCODING_AES_KEY"),
                    WECHAT_SECRET: ("WECHAT_APPID", "WECHAT_SECRET")}),
    WORKER_FUNCTION: {WECHAT_SECRET: ("WECHAT_APPID", "WECHAT_SECRET")},
}
# What the worker reads and writes (the jobs' pages; see the module docstring).
WORKER_TABLES: dict[type[Model], tuple[str, ...]] = {
    members.MemberRecord: WRITE, ledger.LedgerRecord: WRITE, ledger.TierChangeRecord: WRITE,
    coupons.CouponTemplateRecord: WRITE, coupons.CouponRecord: WRITE, coupons.CouponClaimRecord: WRITE,
    settings.SettingRecord: WRITE, idempotency.IdempotencyRecord: WRITE, messaging.SubscriptionRecord: WRITE,
    messaging.NoticeRecord: DELETE, messaging.NoticeBudgetRecord: WRITE, analytics.FigureRecord: WRITE,
    segments.SnapshotRecord: WRITE, automation_store.AutomationRecord: WRITE, checkouts.CheckoutRecord: WRITE,
}
# What a scheduled job's start touches besides the program (see the module docstring).
START_TABLES: dict[str, dict[type[Model], tuple[str, ...]]] = {
    automations.NAME: {automation_store.AutomationRecord: WRITE},
    rfm_segments.NAME: {segments.SnapshotRecord: WRITE},
    member_day.NAME: {coupons.CouponTemplateRecord: READ},
}


def function_tables(function: str) -> dict[type[Model], tuple[str, ...]]:
    """The tables a function (by chalice name) may use, with their actions."""
    if function == API_FUNCTION:
        return store_levels()
    if function == WORKER_FUNCTION:
        return WORKER_TABLES
    return {settings.SettingRecord: READ, **START_TABLES.get(function, {})}


def store_levels() -> dict[type[Model], tuple[str, ...]]:
    """Every model, at the level the store modules use it: the write parts (`Put`, `Update`,
    `Delete`) they build for it, read only if none."""
    by_name = {model.__name__: model for model in ALL_MODELS}
    levels = {model: READ for model in ALL_MODELS}
    for path in sorted((PROJECT_DIR / "chalicelib" / "store").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in LEVELS and node.args:
                first = node.args[0].func if isinstance(node.args[0], ast.Call) else node.args[0]
                model = by_name.get(first.id) if isinstance(first, ast.Name) else None
                if model is not None and len(LEVELS[node.func.id]) > len(levels[model]):
                    levels[model] = LEVELS[node.func.id]
    return levels


def function_resource(function: str) -> str:
    """The logical id chalice gives a function (its API handler is `APIHandler`)."""
    return "APIHandler" if function == API_FUNCTION else to_cfn_resource_name(function)


def role_name(function: str) -> str:
    """The logical id of a function's role."""
    return function_resource(function) + "Role"


def log_group_name(function: str) -> str:
    """The logical id of a function's log group."""
    return function_resource(function) + "Logs"


def role(function: str, table_ids: dict[type[Model], str], queue: str, tables: Template) -> Template:
    """The function's role: its tables and their indexes, the queue, its secrets, logs and traces."""
    statements = []
    for model, actions in function_tables(function).items():
        table = table_ids[model]
        statements.append(_allow(f"{table}Items", actions, [{"Fn::GetAtt": [table, "Arn"]}]))
        indexes = [index["IndexName"] for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
                   for index in tables[table]["Properties"].get(kind, [])]
        if indexes:
            statements.append(_allow(f"{table}Indexes", ("dynamodb:Query",),
                                     [{"Fn::Sub": f"${{{table}.Arn}}/index/{name}"} for name in indexes]))
    queue_arn = [{"Fn::GetAtt": [queue, "Arn"]}]
    statements.append(_allow("JobsQueueSend", SEND_ACTIONS, queue_arn))
    if function == WORKER_FUNCTION:
        statements.append(_allow("JobsQueueConsume", CONSUME_ACTIONS, queue_arn))
    secrets = SECRETS.get(function, {})
    if secrets:
        statements.append(_allow("Secrets", ("secretsmanager:GetSecretValue",), [{"Ref": s} for s in secrets]))
    statements.append(_allow("OwnLogs", LOG_ACTIONS, [{"Fn::GetAtt": [log_group_name(function), "Arn"]}]))
    statements.append(_allow("Traces", TRACE_ACTIONS, ["*"]))
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "FunctionAccess",
                          "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
        },
        "Metadata": {"checkov": {"skip": [{
            "id": "CKV_AWS_111",
            "comment": "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permission",
        }]}},
    }


def secret_environment(function: str) -> dict[str, Any]:
    """The function's SECRET_IDS and SECRET_SETTINGS (nothing for a function without secrets)."""
    secrets = SECRETS.get(function, {})
    if not secrets:
        return {}
    return {"SECRET_IDS": {"Fn::Join": [",", [{"Ref": s} for s in secrets]]},
            "SECRET_SETTINGS": ",".join(name for names in secrets.values() for name in names)}


def _allow(sid: str, actions: tuple[str, ...], resources: list[Any]) -> Template:
    """An `Allow` statement."""
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": resources}
