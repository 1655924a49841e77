"""boto3 sessions and clients for every AWS provider (this store; the IAM key issuer reuses it).

Credentials come from boto3's own chain: environment variables, a profile of the AWS config files, web
identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, as on EKS), then the instance or task role. Clients
have timeouts and a bounded number of attempts, so an unreachable or throttling endpoint fails in bounded
time; TLS verification stays on (AWS_CA_BUNDLE names a private CA).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

# botocore logs whole request bodies (secret values) at DEBUG: whatever level the application runs at,
# its loggers never pass below WARNING.
for _logger in ("boto3", "botocore", "s3transfer"):
    logging.getLogger(_logger).setLevel(logging.WARNING)

CONNECT_TIMEOUT = 5.0  # seconds
READ_TIMEOUT = 20.0
ATTEMPTS = 4  # first try included; botocore's "standard" mode retries throttling, 5xx and timeouts


def new_session(*, region: str | None, profile: str | None) -> boto3.session.Session:
    """Raises botocore's ProfileNotFound for an unknown profile (see errors.translate)."""
    return boto3.session.Session(profile_name=profile, region_name=region)


def new_client(sess: boto3.session.Session, service: str, *, endpoint_url: str | None,
           attempts: int = ATTEMPTS, connect_timeout: float = CONNECT_TIMEOUT,
           read_timeout: float = READ_TIMEOUT, after_call: Callable[..., None] | None = None) -> Any:
    """A client of `service`; `after_call` runs after every API call it makes, answered or refused (not
    after a call that never reached the endpoint). Raises botocore's NoRegionError without a region."""
    config = Config(connect_timeout=connect_timeout, read_timeout=read_timeout,
                    retries={"total_max_attempts": attempts, "mode": "standard"},
                    user_agent_extra="secretkeeper")
    made = sess.client(service, endpoint_url=endpoint_url, config=config)
    if after_call is not None:
        made.meta.events.register("after-call", after_call)
    return made
