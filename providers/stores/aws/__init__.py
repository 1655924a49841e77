"""AWS Secrets Manager as a store (config type `aws-secrets-manager`), over boto3.

Modules by job: `session` (credential chain, clients with timeouts and bounded retries; the AWS issuers
reuse it), `api` (the one door to the service: crash points, errors), `errors` (botocore errors as
one-line StoreErrors), `codec` (keys and values <-> SecretString), `labels` (staging labels, fixed version
ids), `describe` (a secret's versions before a change; AWS rotation refused), then one module per verb:
`read` (read, staged), `stage`, `promote`, `discard`, `journal` (the rotation journal and lock), `status`
(bulk, from ListSecrets), `notes` (annotate: status notes as tags), `identity` (the caller, for the
audit); `store` joins them. README.md says how the staging-label protocol and the journal's
compare-and-set work and what was measured on moto and AWS's documentation.
"""

from __future__ import annotations

from providers.base import STORES
from providers.stores.aws.store import AwsStore
from secretkeeper.config.stores import AwsSecretsManagerStore


@STORES.register("aws-secrets-manager")
def build(name: str, config: AwsSecretsManagerStore) -> AwsStore:
    return AwsStore(name, config)
