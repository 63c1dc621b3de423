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
- the policies of `DefaultRole`, the single role chalice generates for every function of the app
  while `autogen_policy` is on (chalice's default). The fragment replaces the role's `Policies`
  list whole, so the role holds exactly the statements below and never what chalice's source
  analyzer might guess from app.py;
- one `NoEcho` parameter per secret, put into every function's environment through SAM
  `Globals` (SAM merges those variables with each function's own), so no secret is in the repo;
  `JOBS_QUEUE_URL` goes there too, for every function that may start a job.

Importing this module imports the schema, whose table names carry the `TABLE_PREFIX` of the
environment at import time; `python -m infra.package` sets the stage's environment first.
"""
from __future__ import annotations

from typing import Any

from chalice.utils import to_cfn_resource_name
from pynamodb.models import Model

from chalicelib.config import placement
from chalicelib.store.tables import ALL_MODELS, TTL_ATTRIBUTES
from infra import function_timeout, stage_environment

Template = dict[str, Any]

# Every DynamoDB action the app performs. Transactions need no action of their own: IAM checks
# TransactWriteItems per item as PutItem / UpdateItem / DeleteItem / ConditionCheckItem, and
# TransactGetItems as GetItem. DescribeTable is left out on purpose: pynamodb 6 builds its table
# metadata from the model (`Model._get_connection`); only `exists()`, `describe_table()`,
# `create_table()` and a `count()` without a hash key call it, and those run in the local stack.
ITEM_ACTIONS: tuple[str, ...] = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:Query",
)
INDEX_ACTIONS: tuple[str, ...] = ("dynamodb:Query",)

# What chalice's own role policy grants, narrowed from `arn:*:logs:*:*:*` to Lambda's log groups.
LOG_ACTIONS: tuple[str, ...] = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
LOG_GROUPS = {
    "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/*"
}

# Secret settings: environment variable -> (description, minimum length). None has a default.
SECRETS: dict[str, tuple[str, int]] = {
    "TOKEN_SECRET": ("HMAC key of the app's session tokens", 32),
    "WECHAT_APPID": ("WeChat mini-program AppID", 1),
    "WECHAT_SECRET": ("WeChat mini-program AppSecret", 1),
    "WECHAT_TOKEN": ("Token of WeChat message push (signature check)", 1),
    "WECHAT_ENCODING_AES_KEY": ("EncodingAESKey of WeChat message push (43 characters)", 43),
    "ADMIN_API_KEYS": ("Comma-separated API keys of the admin routes", 1),
}

ROLE_RESOURCE = "DefaultRole"

# The jobs queue: app.py's `on_sqs_message` handler, and the queues' logical ids.
JOBS_FUNCTION = "job_segments"
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
# `SendMessage` also authorizes `SendMessageBatch`; the rest is what the event source mapping does.
SEND_ACTIONS: tuple[str, ...] = ("sqs:SendMessage",)
CONSUME_ACTIONS: tuple[str, ...] = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
)


def build_merge_template(stage: str) -> Template:
    """The fragment for `chalice package --stage <stage> --merge-template`."""
    _check_table_prefix(stage)
    queue_name = _jobs_queue_name(stage)
    tables = {table_resource_name(model): _table(model) for model in ALL_MODELS}
    return {
        "Parameters": {
            parameter_name(env): _secret_parameter(description, min_length)
            for env, (description, min_length) in SECRETS.items()
        },
        "Globals": {
            "Function": {
                "Environment": {
                    "Variables": {
                        **{env: {"Ref": parameter_name(env)} for env in SECRETS},
                        "JOBS_QUEUE_URL": {"Ref": JOBS_QUEUE_RESOURCE},
                    },
                },
            },
        },
        "Resources": {
            **tables,
            **_jobs_queues(queue_name, function_timeout(stage, JOBS_FUNCTION)),
            to_cfn_resource_name(JOBS_FUNCTION): _jobs_event_source(),
            ROLE_RESOURCE: {"Properties": {"Policies": _role_policies(tables)}},
        },
    }


def table_resource_name(model: type[Model]) -> str:
    """The table's logical id, from the model's class name (renaming the class replaces it)."""
    name = model.__name__.removesuffix("Record") + "Table"
    if not name.isalnum():
        raise ValueError(f"{model.__name__} does not give an alphanumeric logical id")
    return name


def parameter_name(env: str) -> str:
    """The template parameter of a secret environment variable: TOKEN_SECRET -> TokenSecret."""
    return "".join(part.capitalize() for part in env.split("_"))


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


def _jobs_queues(name: str, consumer_timeout: int) -> dict[str, Template]:
    """The jobs queue and its dead-letter queue, encrypted with SQS-managed keys. Both go with
    the stack: they hold work in flight, and every job is idempotent and can be run again."""
    return {
        JOBS_QUEUE_RESOURCE: {
            "Type": "AWS::SQS::Queue",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
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
    event = to_cfn_resource_name(f"{JOBS_FUNCTION}-sqs-event-source")
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


def _role_policies(tables: dict[str, Template]) -> list[Template]:
    """The whole policy list of the functions' role: logs, these tables and their indexes, and
    the jobs queue."""
    table_arns = [{"Fn::GetAtt": [name, "Arn"]} for name in tables]
    index_arns = [
        {"Fn::Sub": f"${{{name}.Arn}}/index/{index['IndexName']}"}
        for name, table in tables.items()
        for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
        for index in table["Properties"].get(kind, [])
    ]
    data_statements = [_allow("TableItems", ITEM_ACTIONS, table_arns)]
    if index_arns:
        data_statements.append(_allow("IndexQueries", INDEX_ACTIONS, index_arns))
    queue_arn = [{"Fn::GetAtt": [JOBS_QUEUE_RESOURCE, "Arn"]}]
    return [
        {
            "PolicyName": "Logs",
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [_allow("FunctionLogs", LOG_ACTIONS, [LOG_GROUPS])],
            },
        },
        {
            "PolicyName": "DataAccess",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": data_statements},
        },
        {
            "PolicyName": "JobsQueue",
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    _allow("JobsQueueSend", SEND_ACTIONS, queue_arn),
                    _allow("JobsQueueConsume", CONSUME_ACTIONS, queue_arn),
                ],
            },
        },
    ]


def _allow(sid: str, actions: tuple[str, ...], resources: list[Any]) -> Template:
    """An `Allow` statement."""
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": resources}


def _secret_parameter(description: str, min_length: int) -> Template:
    """A `NoEcho` string parameter without a default: every deployment must supply it."""
    return {"Type": "String", "NoEcho": True, "MinLength": min_length, "Description": description}
