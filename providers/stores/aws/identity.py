"""Who the store acts as, for the audit: the caller ARN from STS GetCallerIdentity, asked through the
store's own endpoint (moto or LocalStack answer it too). One attempt with short timeouts; any failure is
None, so an identity lookup never delays or fails a rotation."""

from __future__ import annotations

from providers.stores.aws.session import new_client
from providers.stores.aws.api import SecretsApi, store_request


def identity(api: SecretsApi) -> str | None:
    try:
        sts = new_client(api.session, "sts", endpoint_url=api.config.endpoint_url, attempts=1,
                             connect_timeout=2, read_timeout=3, after_call=store_request)
        return str(sts.get_caller_identity()["Arn"])
    except Exception:  # by contract: no credentials, no region, unreachable, denied... all mean "unknown"
        return None
