"""What running the stage takes besides the code: the API's endpoint type and custom domain, its
access logs and tracing, the functions' log groups (their retention a parameter), the secrets, the
alarms and the SNS topic they notify.

- **China**: the cn partition has no edge-optimized endpoints, so `EndpointType` is a parameter
  (`REGIONAL` by default; a rule refuses `EDGE` in aws-cn). With `DomainName` and `CertificateArn`
  the API gets that custom domain, its root mapped to the stage, so every path is `/v1/...`
  (without one, the default URL carries the stage: `/api/v1/...`).
- **Alarms** (to `AlarmTopic`; `AlarmEmail` subscribes an address): the jobs dead-letter queue is
  not empty; any function error; any throttle; the API's 5xx rate over `Api5xxRate`; its
  p95 latency over `ApiP95LatencyMs`. Errors and throttles are each one metric-math alarm over
  every function.
- **Logs**: each function writes to its own log group (`LoggingConfig`), kept `LogRetentionDays`
  (30 by default: personal data in logs is masked, but not kept for ever); the API's access log is
  a group of its own. API Gateway writes to CloudWatch through the account's role
  (`AWS::ApiGateway::Account`, one per account and region, retained when the stack goes).
"""
from __future__ import annotations

from typing import Any

from infra.access import API_FUNCTION, API_SECRET, SECRETS, WECHAT_SECRET, function_resource, log_group_name

Template = dict[str, Any]
API = "RestAPI"
API_STAGE = "api"
TOPIC = "AlarmTopic"
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                  3288, 3653)
ACCESS_LOG_FORMAT = ('{"requestId":"$context.requestId","extendedRequestId":"$context.extendedRequestId",'
                     '"ip":"$context.identity.sourceIp","requestTime":"$context.requestTime",'
                     '"httpMethod":"$context.httpMethod","resourcePath":"$context.resourcePath",'
                     '"status":"$context.status","responseLength":"$context.responseLength",'
                     '"integrationLatency":"$context.integrationLatency","latency":"$context.responseLatency"}')
PERIOD_SECONDS = 300
# The secrets outlive the stack (a member's token stays valid through a re-created stack; WeChat's
# credentials need not be entered again): delete them by hand when the stage is gone for good.
KEPT = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


def parameters() -> Template:
    """The stage's operational parameters."""
    return {
        "EndpointType": {"Type": "String", "Default": "REGIONAL", "AllowedValues": ["REGIONAL", "EDGE"],
                         "Description": "API endpoint type (REGIONAL in the China regions, which have no EDGE)"},
        "DomainName": {"Type": "String", "Default": "", "Description": "Custom domain of the API (ICP-filed in China)"},
        "CertificateArn": {"Type": "String", "Default": "", "AllowedPattern": "^$|^arn:aws[a-zA-Z-]*:acm:.+$",
                           "Description": "ACM certificate of DomainName (imported, in a China region)"},
        "LogRetentionDays": {"Type": "Number", "Default": 30, "AllowedValues": list(RETENTION_DAYS),
                             "Description": "Days the functions' and the API's logs are kept"},
        "AlarmEmail": {"Type": "String", "Default": "", "Description": "Address the alarms are mailed to (optional)"},
        "JobsConcurrency": {"Type": "Number", "Default": 4, "MinValue": 1, "MaxValue": 50,
                            "Description": "Job segments run at once (reserved concurrency of job_segments)"},
        "Api5xxRate": {"Type": "Number", "Default": 0.01, "MinValue": 0, "MaxValue": 1,
                       "Description": "Alarm when more than this fraction of the API's answers are 5xx"},
        "ApiP95LatencyMs": {"Type": "Number", "Default": 1500, "MinValue": 1,
                            "Description": "Alarm when the API's p95 latency is above this"},
    }


def conditions() -> Template:
    """When the custom domain and the alarm e-mail exist, and which certificate kind the domain takes."""
    return {
        "HasDomain": {"Fn::Not": [{"Fn::Equals": [{"Ref": "DomainName"}, ""]}]},
        "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
        "IsEdge": {"Fn::Equals": [{"Ref": "EndpointType"}, "EDGE"]},
    }


def rules() -> Template:
    """The cn partition has regional endpoints only."""
    return {"RegionalInChina": {
        "RuleCondition": {"Fn::Equals": [{"Ref": "AWS::Partition"}, "aws-cn"]},
        "Assertions": [{"Assert": {"Fn::Equals": [{"Ref": "EndpointType"}, "REGIONAL"]},
                        "AssertDescription": "The China regions support REGIONAL API endpoints only"}],
    }}


def log_group(name: Any) -> Template:
    """A log group kept `LogRetentionDays`."""
    return {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
            "Properties": {"LogGroupName": name, "RetentionInDays": {"Ref": "LogRetentionDays"}},
            "Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_158", "comment": (
                "CloudWatch Logs encrypts every group at rest; the app masks personal data before logging, "
                "so a customer managed key would add cost and a key policy without protecting more")}]}}}


def function_logs(functions: list[str]) -> Template:
    """One log group per function, named after the stack and the function."""
    return {log_group_name(f): log_group({"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{f}"}) for f in functions}


def secrets() -> Template:
    """The API's own secrets (a generated token key to start with) and WeChat's mini-program
    credentials (empty until the merchant puts them: the functions refuse to start without them)."""
    skip = {"checkov": {"skip": [
        {"id": "CKV_AWS_149", "comment": "Encrypted with the AWS managed key aws/secretsmanager, which only "
                                         "this account's principals allowed by IAM can use"},
        {"id": "CKV2_AWS_57", "comment": "Rotated by hand: a new token key is put first in TOKEN_SECRET and "
                                         "the old one kept until its tokens expire (README, Deployment)"}]}}
    return {
        API_SECRET: {"Type": "AWS::SecretsManager::Secret", **KEPT, "Metadata": skip, "Properties": {
            "Name": {"Fn::Sub": "${AWS::StackName}/api"},
            "Description": f"{', '.join(SECRETS[API_FUNCTION][API_SECRET])} (JSON)",
            "GenerateSecretString": {"SecretStringTemplate": "{}", "GenerateStringKey": "TOKEN_SECRET",
                                     "PasswordLength": 64, "ExcludePunctuation": True}}},
        WECHAT_SECRET: {"Type": "AWS::SecretsManager::Secret", **KEPT, "Metadata": skip, "Properties": {
            "Name": {"Fn::Sub": "${AWS::StackName}/wechat"},
            "Description": f"{', '.join(SECRETS[API_FUNCTION][WECHAT_SECRET])} (JSON)", "SecretString": "{}"}},
    }


def api(throttle_rate: int = 200, throttle_burst: int = 400) -> Template:
    """The merge for chalice's REST API: endpoint type, name, tracing, access logs, stage settings."""
    return {"Properties": {
        "Name": {"Ref": "AWS::StackName"},
        "EndpointConfiguration": {"Type": {"Ref": "EndpointType"}},
        "TracingEnabled": True,
        "AccessLogSetting": {"DestinationArn": {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}, "Format": ACCESS_LOG_FORMAT},
        "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True, "LoggingLevel": "ERROR",
                            "DataTraceEnabled": False, "ThrottlingRateLimit": throttle_rate,
                            "ThrottlingBurstLimit": throttle_burst}],
    }, "DependsOn": ["ApiGatewayAccount"], "Metadata": {"checkov": {"skip": [
        {"id": "CKV_AWS_120", "comment": "Every answer is a member's or the merchant's own: caching would serve stale "
                                         "or another caller's data"}]}}}


def api_resources() -> Template:
    """The access log group, the account's CloudWatch role, and the optional custom domain."""
    role_arn = "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    return {
        "ApiAccessLogs": log_group({"Fn::Sub": "/aws/apigateway/${AWS::StackName}-access"}),
        "ApiGatewayCloudWatchRole": {"Type": "AWS::IAM::Role", "DeletionPolicy": "Retain",
                                     "UpdateReplacePolicy": "Retain", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "ManagedPolicyArns": [{"Fn::Sub": role_arn}]}},
        "ApiGatewayAccount": {"Type": "AWS::ApiGateway::Account", "DeletionPolicy": "Retain",
                              "UpdateReplacePolicy": "Retain",
                              "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}}},
        # cfn-lint resolves CertificateArn to its empty default, which never reaches a created
        # ApiDomain (HasDomain needs a DomainName, and the walkthrough gives both).
        "ApiDomain": {"Type": "AWS::ApiGateway::DomainName", "Condition": "HasDomain",
                      "Metadata": {"cfn-lint": {"config": {"ignore_checks": ["W1030"]}}}, "Properties": {
            "DomainName": {"Ref": "DomainName"},
            "EndpointConfiguration": {"Types": [{"Ref": "EndpointType"}]},
            "RegionalCertificateArn": {"Fn::If": ["IsEdge", {"Ref": "AWS::NoValue"}, {"Ref": "CertificateArn"}]},
            "CertificateArn": {"Fn::If": ["IsEdge", {"Ref": "CertificateArn"}, {"Ref": "AWS::NoValue"}]},
            "SecurityPolicy": "TLS_1_2"}},
        "ApiBasePath": {"Type": "AWS::ApiGateway::BasePathMapping", "Condition": "HasDomain", "Properties": {
            "DomainName": {"Ref": "ApiDomain"}, "RestApiId": {"Ref": API}, "Stage": {"Ref": f"{API}.Stage"}}},
    }


def alarms(functions: list[str], dead_letter_queue: str) -> Template:
    """The alarm topic (and its e-mail subscription) and the alarms of the module docstring."""
    notify = {"AlarmActions": [{"Ref": TOPIC}], "OKActions": [{"Ref": TOPIC}]}
    api_dimensions = [{"Name": "ApiName", "Value": {"Ref": "AWS::StackName"}}, {"Name": "Stage", "Value": API_STAGE}]
    return {
        TOPIC: {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::Sub": "${AWS::StackName}-alarms"}},
                "Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_26", "comment": (
                    "Alarm notices carry no personal data; CloudWatch alarms cannot publish to a topic "
                    "encrypted with the AWS managed SNS key, and a customer managed key is not worth it here")}]}}},
        "AlarmEmailSubscription": {"Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail", "Properties": {
            "TopicArn": {"Ref": TOPIC}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}},
        "JobsDeadLetterAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            **notify, "AlarmDescription": "Job segments failed 5 times and wait in the dead-letter queue",
            "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible", "Statistic": "Maximum",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_letter_queue, "QueueName"]}}],
            "Period": PERIOD_SECONDS, "EvaluationPeriods": 1, "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"}},
        "FunctionErrorsAlarm": _over_functions("Errors", functions, notify),
        "FunctionThrottlesAlarm": _over_functions("Throttles", functions, notify),
        "Api5xxRateAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            **notify, "AlarmDescription": "Too many of the API's answers are 5xx",
            "Namespace": "AWS/ApiGateway", "MetricName": "5XXError", "Statistic": "Average",
            "Dimensions": api_dimensions, "Period": PERIOD_SECONDS, "EvaluationPeriods": 1,
            "Threshold": {"Ref": "Api5xxRate"},
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"}},
        "ApiLatencyAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            **notify, "AlarmDescription": "The API's p95 latency is high",
            "Namespace": "AWS/ApiGateway", "MetricName": "Latency", "ExtendedStatistic": "p95",
            "Dimensions": api_dimensions, "Period": PERIOD_SECONDS, "EvaluationPeriods": 3, "DatapointsToAlarm": 3,
            "Threshold": {"Ref": "ApiP95LatencyMs"}, "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching"}},
    }


def _over_functions(metric: str, functions: list[str], notify: Template) -> Template:
    """One alarm on the sum of a Lambda metric over every function."""
    queries: list[Template] = [{
        "Id": f"f{i}", "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": "AWS/Lambda", "MetricName": metric,
                       "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function_resource(function)}}]},
            "Period": PERIOD_SECONDS, "Stat": "Sum"}} for i, function in enumerate(functions)]
    queries.append({"Id": "total", "Expression": f"SUM([{','.join(q['Id'] for q in queries)}])",
                    "Label": f"{metric} of every function", "ReturnData": True})
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        **notify, "AlarmDescription": f"A function reported {metric.lower()}", "Metrics": queries,
        "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching"}}
