"""The process-wide adapters the entry points hand to the services: the DynamoDB unit of work
(its botocore client is created here, at import, in the Lambda init phase; every committed write
is reported as metrics) and the WeChat gateway, whose access-token cache is the settings table.

In a Lambda the settings are read here too, so a misconfigured function fails in its init phase
(`ConfigurationError`) and serves nothing; `chalice package` imports the app without the secrets
(they are deployment parameters), so outside a Lambda they are read on the first request.
"""
from __future__ import annotations

import os
from functools import lru_cache

from chalicelib import metrics
from chalicelib.config import settings
from chalicelib.store.dynamo import DynamoUnitOfWork
from chalicelib.store.settings import SharedTokenCache
from chalicelib.wechat.miniprogram import WeChatGateway

if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    settings()
_UOW = DynamoUnitOfWork(committed=metrics.committed)


def uow() -> DynamoUnitOfWork:
    """The container's unit of work."""
    return _UOW


@lru_cache(maxsize=1)
def wechat() -> WeChatGateway:
    """The container's WeChat gateway."""
    return WeChatGateway(settings(), SharedTokenCache(_UOW))
