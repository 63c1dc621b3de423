"""The process-wide adapters the entry points hand to the services: the DynamoDB unit of work
(its botocore client is created here, at import, in the Lambda init phase) and the WeChat gateway,
whose access-token cache is the settings table."""
from __future__ import annotations

from functools import lru_cache

from chalicelib.config import settings
from chalicelib.store.dynamo import DynamoUnitOfWork
from chalicelib.store.settings import SharedTokenCache
from chalicelib.wechat.miniprogram import WeChatGateway

_UOW = DynamoUnitOfWork()


def uow() -> DynamoUnitOfWork:
    """The container's unit of work."""
    return _UOW


@lru_cache(maxsize=1)
def wechat() -> WeChatGateway:
    """The container's WeChat gateway."""
    return WeChatGateway(settings(), SharedTokenCache(_UOW))
