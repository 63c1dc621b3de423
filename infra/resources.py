"""The CloudFormation fragment merged into `chalice package` output, built from the models.

Chalice deep-merges this fragment into its SAM template (dicts merge key by key, anything else,
lists included, is replaced by the fragment's value). It holds:

- one `AWS::DynamoDB::Table` per model of `ALL_MODELS`: keys, indexes and TTL from the model,
  on-demand billing, point-in-time recovery, encryption with the AWS managed KMS key, retained
  on stack delete and replacement;
- the jobs queue, which `app.job_segments` consumes and `chalicelib/jobs/fanout.py` sends to,
  with its dead-letter queue. Chalice names the queue in the function's SQS event from the
  stage's `JOBS_QUEUE_NAME` (app.py reads it when chalice imports the app), so the queue gets
  exactly that name, and the event is pointed at the queue's `Arn` so that CloudFormation
  creates the queue before the event source mapping;
- one role per function (`infra.access`), each function's log group, tracing, reserved
  concurrency for the jobs, and the secrets each one holds (`SECRET_IDS`, `SECRET_SETTINGS`;
  `.chalice/config.json` turns chalice's own role off, and every function's `Role` is replaced);
- the API's endpoint type, custom domain, access logs, the alarms and their topic
  (`infra.operations`); `JOBS_QUEUE_URL` goes into every function's environment through SAM
  `Globals`.

Importing this module imports the schema, whose table names carry the `TABLE_PREFIX` of the
environment at import time; `python -m infra.package` sets the stage's environment first.
"""
from __future__ import annotations

from typing import Any

from chalice.utils import to_cfn_resource_name
from pynamodb.models import Model

from chalicelib.config import placement
from chalicelib.store.tables import ALL_MODELS, TTL_ATTRIBUTES
from infra import access, function_timeout, operations, stage_environment

Template = dict[str, Any]

# The logical ids of the jobs queue (which app.py's `on_sqs_message` handler, `access.WORKER_FUNCTION`,
# consumes) and of its dead-letter queue.
JOBS_QUEUE_RESOURCE = "JobsQueue"
JOBS_DEAD_LETTER_RESOURCE = "JobsDeadLetterQueue"
# AWS's advice for a queue consumed by Lambda: a visibility timeout of at least six times the
# function's timeout (Lambda refuses one shorter than the function's), so that a throttled batch
# can be retried.
VISIBILITY_TIMEOUT_FACTOR = 6
# Receives of a segment before it moves to the dead-letter queue. A segment keeps its enqueue
# time when it moves, so the dead-letter queue keeps messages longer than the queue: SQS's
# default of 4 days on the queue, its maximum of 14 days on the dead-letter queue.
MAX_RECEIVE_COUNT = 5
QUEUE_RETENTION_SECONDS = 4 * 24 * 60 * 60
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 60 * 60
# The concurrency each scheduled start keeps for itself: one run at a time.
START_CONCURRENCY = 1
SKIPPED_FUNCTION_CHECKS = (
    ("CKV_AWS_117", "No VPC: the functions reach only DynamoDB, SQS and Secrets Manager (AWS endpoints) and "
                    "WeChat, all over TLS; a VPC would add NAT gateways and cold-start cost, protecting nothing"),
    ("CKV_AWS_173", "The environment holds no secret: the secrets are read from Secrets Manager at start"),
)
SKIPPED_BY_FUNCTION = {
    access.API_FUNCTION: (
        ("CKV_AWS_116", "Invoked synchronously by API Gateway: a failure is the caller's answer, not an event to keep"),
        ("CKV_AWS_115", "The API scales with its traffic; the stage's throttling bounds it"),
    ),
    access.WORKER_FUNCTION: (
        ("CKV_AWS_116", "Invoked by its SQS queue, whose redrive policy moves a failing segment to the "
                        "jobs dead-letter queue (alarmed)"),
    ),
}
SKIPPED_SCHEDULED = (
    ("CKV_AWS_116", "A failed start raises the function-errors alarm; each job is idempotent per business date "
                    "and is started again with POST /v1/admin/jobs/{job}/run"),
)


def build_merge_template(stage: str) -> Template:
    """The fragment for `chalice package --stage <stage> --merge-template`."""
    from chalicelib.jobs.registry import JOBS

    _check_table_prefix(stage)
    queue_name = _jobs_queue_name(stage)
    table_ids = {model: table_resource_name(model) for model in ALL_MODELS}
    tables = {table_ids[model]: _table(model) for model in ALL_MODELS}
    functions = [access.API_FUNCTION, access.WORKER_FUNCTION, *JOBS]
    worker = access.function_resource(access.WORKER_FUNCTION)
    resources: Template = {
        **tables,
        **_jobs_queues(queue_name, function_timeout(stage, access.WORKER_FUNCTION)),
        **operations.function_logs(functions),
        **operations.secrets(),
        **operations.api_resources(),
        **operations.alarms(functions, JOBS_DEAD_LETTER_RESOURCE),
        operations.API: operations.api(),
    }
    for function in functions:
        resources[access.role_name(function)] = access.role(function, table_ids, JOBS_QUEUE_RESOURCE, tables)
        resources[access.function_resource(function)] = _function(function)
    resources[worker]["Properties"].update(_jobs_event_source()["Properties"])
    return {
        "Parameters": operations.parameters(),
        "Conditions": operations.conditions(),
        "Rules": operations.rules(),
        "Globals": {"Function": {"Tracing": "Active",
                                 "Environment": {"Variables": {"JOBS_QUEUE_URL": {"Ref": JOBS_QUEUE_RESOURCE}}}}},
        "Resources": resources,
        "Outputs": _outputs(),
    }


def _function(function: str) -> Template:
    """What the merge sets on a chalice function: its role, log group, secrets, concurrency, and
    the checkov checks it skips, with why."""
    properties: Template = {
        "Role": {"Fn::GetAtt": [access.role_name(function), "Arn"]},
        "LoggingConfig": {"LogGroup": {"Ref": access.log_group_name(function)}, "LogFormat": "Text"},
    }
    variables = access.secret_environment(function)
    if variables:
        properties["Environment"] = {"Variables": variables}
    if function == access.WORKER_FUNCTION:
        properties["ReservedConcurrentExecutions"] = {"Ref": "JobsConcurrency"}
    elif function != access.API_FUNCTION:
        properties["ReservedConcurrentExecutions"] = START_CONCURRENCY
    skipped = SKIPPED_FUNCTION_CHECKS + SKIPPED_BY_FUNCTION.get(function, SKIPPED_SCHEDULED)
    return {"Properties": properties,
            "Metadata": {"checkov": {"skip": [{"id": check, "comment": why} for check, why in skipped]}}}


def _outputs() -> Template:
    """What the deployment walkthrough, the smoke test and the admin CLI need from the stack."""
    api_secrets = access.SECRETS[access.API_FUNCTION]
    return {
        "EndpointURL": {"Description": "The API's default URL (its paths carry the stage: /api/v1/...)",
                        "Value": {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/"}},
        "ApiBaseUrl": {"Condition": "HasDomain", "Description": "The API on its custom domain (/v1/...)",
                       "Value": {"Fn::Sub": "https://${DomainName}/"}},
        "ApiDomainTarget": {"Condition": "HasDomain", "Description": "Point the custom domain's CNAME here",
                            "Value": {"Fn::If": ["IsEdge", {"Fn::GetAtt": ["ApiDomain", "DistributionDomainName"]},
                                                 {"Fn::GetAtt": ["ApiDomain", "RegionalDomainName"]}]}},
        "JobsQueueUrl": {"Value": {"Ref": JOBS_QUEUE_RESOURCE}},
        "JobsDeadLetterQueueUrl": {"Description": "Failed job segments (the admin CLI replays them)",
                                   "Value": {"Ref": JOBS_DEAD_LETTER_RESOURCE}},
        "JobsDeadLetterQueueArn": {"Value": {"Fn::GetAtt": [JOBS_DEAD_LETTER_RESOURCE, "Arn"]}},
        "ApiSecretArn": {"Description": ", ".join(api_secrets[access.API_SECRET]),
                         "Value": {"Ref": access.API_SECRET}},
        "WeChatSecretArn": {"Description": ", ".join(api_secrets[access.WECHAT_SECRET]),
                            "Value": {"Ref": access.WECHAT_SECRET}},
        "AlarmTopicArn": {"Value": {"Ref": operations.TOPIC}},
    }


def table_resource_name(model: type[Model]) -> str:
    """The table's logical id, from the model's class name (renaming the class replaces it)."""
    name = model.__name__.removesuffix("Record") + "Table"
    if not name.isalnum():
        raise ValueError(f"{model.__name__} does not give an alphanumeric logical id")
    return name


def _check_table_prefix(stage: str) -> None:
    """Refuse to build when the schema was imported under another stage's table prefix."""
    expected = stage_environment(stage).get("TABLE_PREFIX")
    if not expected:
        raise ValueError(f"stage {stage!r} has no TABLE_PREFIX in .chalice/config.json")
    loaded = placement().table_prefix
    if loaded != expected:
        raise RuntimeError(
            f"the schema was imported with TABLE_PREFIX={loaded!r}, stage {stage!r} needs "
            f"{expected!r}: run `python -m infra.package`, which sets it before importing"
        )


def _jobs_queue_name(stage: str) -> str:
    """The stage's `JOBS_QUEUE_NAME`, which names both the queue and the function's event."""
    name = stage_environment(stage).get("JOBS_QUEUE_NAME")
    if not name:
        raise ValueError(f"stage {stage!r} has no JOBS_QUEUE_NAME in .chalice/config.json")
    return name


QUEUE_CHECKS = {"checkov": {"skip": [{"id": "CKV_AWS_27", "comment": (
    "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), which this check does not recognise")}]}}


def _jobs_queues(name: str, consumer_timeout: int) -> dict[str, Template]:
    """The jobs queue and its dead-letter queue, encrypted with SQS-managed keys. Both go with
    the stack: they hold work in flight, and every job is idempotent and can be run again."""
    return {
        JOBS_QUEUE_RESOURCE: {
            "Type": "AWS::SQS::Queue",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Metadata": QUEUE_CHECKS,
            "Properties": {
                "QueueName": name,
                "VisibilityTimeout": VISIBILITY_TIMEOUT_FACTOR * consumer_timeout,
                "MessageRetentionPeriod": QUEUE_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [JOBS_DEAD_LETTER_RESOURCE, "Arn"]},
                    "maxReceiveCount": MAX_RECEIVE_COUNT,
                },
            },
        },
        JOBS_DEAD_LETTER_RESOURCE: {
            "Type": "AWS::SQS::Queue",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Metadata": QUEUE_CHECKS,
            "Properties": {
                "QueueName": f"{name}-dlq",
                "MessageRetentionPeriod": DEAD_LETTER_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
            },
        },
    }


def _jobs_event_source() -> Template:
    """The jobs function's SQS event, pointed at the queue's `Arn` instead of chalice's ARN built
    from the name. The merge joins dicts key by key, so the override keeps chalice's `Fn::Sub`
    key and gives it a reference, which also makes the mapping depend on the queue."""
    event = to_cfn_resource_name(f"{access.WORKER_FUNCTION}-sqs-event-source")
    queue_arn = {"Fn::Sub": f"${{{JOBS_QUEUE_RESOURCE}.Arn}}"}
    return {"Properties": {"Events": {event: {"Properties": {"Queue": queue_arn}}}}}


def _table(model: type[Model]) -> Template:
    """One `AWS::DynamoDB::Table` from the model's schema."""
    schema = model._get_schema()
    indexes = schema["global_secondary_indexes"] + schema["local_secondary_indexes"]
    definitions = {
        item["AttributeName"]: item["AttributeType"]
        for item in schema["attribute_definitions"]
        + [d for index in indexes for d in index["attribute_definitions"]]
    }
    properties: Template = {
        "TableName": model.Meta.table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind} for name, kind in definitions.items()
        ],
        "KeySchema": _key_schema(schema["key_schema"]),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }
    if schema["global_secondary_indexes"]:
        properties["GlobalSecondaryIndexes"] = [
            _index(index) for index in schema["global_secondary_indexes"]
        ]
    if schema["local_secondary_indexes"]:
        properties["LocalSecondaryIndexes"] = [
            _index(index) for index in schema["local_secondary_indexes"]
        ]
    if model in TTL_ATTRIBUTES:
        properties["TimeToLiveSpecification"] = {
            "AttributeName": model.get_attributes()[TTL_ATTRIBUTES[model]].attr_name,
            "Enabled": True,
        }
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
        "Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_119", "comment": (
            "Encrypted at rest with the AWS managed key aws/dynamodb (SSEEnabled); a customer managed key "
            "costs per key and per request and needs a key policy kept in step, for no stronger isolation here")}]}},
    }


def _key_schema(keys: list[dict[str, str]]) -> list[dict[str, str]]:
    """Key schema in CloudFormation's order: the HASH key first, then the RANGE key."""
    ordered = sorted(keys, key=lambda key: key["KeyType"] != "HASH")
    return [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in ordered]


def _index(index: dict[str, Any]) -> Template:
    """A secondary index; on-demand tables take no provisioned throughput."""
    return {
        "IndexName": index["index_name"],
        "KeySchema": _key_schema(index["key_schema"]),
        "Projection": index["projection"],
    }
