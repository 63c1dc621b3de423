"""The container's one botocore session: every AWS client of the app (DynamoDB, Secrets Manager,
SQS) is made from it, so botocore's data files (endpoints, service models) are loaded and parsed
once per container rather than once per client. Clients are made in the init phase or by one
thread at a time (a botocore session is not thread-safe)."""
from __future__ import annotations

from functools import lru_cache

import botocore.session


@lru_cache(maxsize=1)
def session() -> botocore.session.Session:
    """The shared session."""
    return botocore.session.get_session()
