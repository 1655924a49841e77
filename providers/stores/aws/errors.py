"""botocore errors as one-line store errors that name the secret and the action.

Only the error code and the exception's type reach a message: AWS messages, botocore's parameter reports
and request bodies can carry what was sent (a secret value), so their text is never passed on.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSLError,
)

from providers.errors import NotFound, StoreError

NOT_FOUND = frozenset({"ResourceNotFoundException"})
DENIED = frozenset({"AccessDeniedException", "AccessDenied"})
BAD_CREDENTIALS = frozenset({"UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
                             "SignatureDoesNotMatch", "ExpiredTokenException", "ExpiredToken"})
THROTTLED = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})
KMS = {"DecryptionFailure": "decrypt", "EncryptionFailure": "encrypt"}


class Rejected(StoreError):
    """AWS answered with an error this module has no more specific words for; `code` is AWS's error code
    (callers act on some: a lost compare-and-set is an InvalidParameterException)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def translate(exc: ClientError | BotoCoreError, *, where: str, action: str) -> StoreError:
    """`where` names the store and the secret ("aws store prod: app/db"), `action` the IAM action
    ("secretsmanager:PutSecretValue")."""
    if isinstance(exc, ClientError):
        return _answered(exc, where, action)
    endpoint = exc.kwargs.get("endpoint_url") or "the AWS endpoint"
    if isinstance(exc, SSLError):
        return StoreError(f"{where}: TLS verification failed for {endpoint} ({action})")
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        return StoreError(f"{where}: {endpoint} did not answer {action} in time ({type(exc).__name__})")
    if isinstance(exc, ConnectionError | HTTPClientError):  # refused, unresolvable, cut
        return StoreError(f"{where}: cannot reach {endpoint} for {action} ({type(exc).__name__})")
    if isinstance(exc, NoCredentialsError):
        return StoreError(f"{where}: no AWS credentials found (environment, profile, web identity, "
                          "instance role)")
    if isinstance(exc, PartialCredentialsError | CredentialRetrievalError):
        return StoreError(f"{where}: could not load AWS credentials ({type(exc).__name__})")
    if isinstance(exc, ProfileNotFound):
        return StoreError(f"{where}: AWS profile {exc.kwargs.get('profile')!r} is not in the AWS config files")
    if isinstance(exc, NoRegionError):
        return StoreError(f"{where}: no AWS region: set `region:` for this store, or AWS_REGION")
    if isinstance(exc, ParamValidationError):
        return StoreError(f"{where}: {action}: the request has invalid parameters")
    return StoreError(f"{where}: {action} failed ({type(exc).__name__})")


def _answered(exc: ClientError, where: str, action: str) -> StoreError:
    code = str(exc.response.get("Error", {}).get("Code") or "UnknownError")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in NOT_FOUND:
        return NotFound(f"{where}: not found ({action})")
    # An error body botocore cannot parse leaves the HTTP status as the code: a 403 from a proxy, or from
    # moto, whose authorization answers JSON services in XML.
    if code in DENIED or (status == 403 and code.isdigit()):
        return StoreError(f"{where}: access denied to {action} ({'HTTP ' + code if code.isdigit() else code})")
    if code in BAD_CREDENTIALS:
        return StoreError(f"{where}: AWS rejected the credentials for {action} ({code})")
    if code in THROTTLED:
        attempts = int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) + 1
        return StoreError(f"{where}: AWS throttled {action} ({code}), still after {attempts} attempts")
    if code in KMS:
        return StoreError(f"{where}: KMS could not {KMS[code]} it for {action} ({code}): check the "
                          f"secret's KMS key and this identity's kms:Decrypt / kms:GenerateDataKey rights")
    return Rejected(f"{where}: AWS refused {action} ({code})", code)
