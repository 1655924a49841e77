"""Issuers, one module or package per type (`random`, `keypair`, `static`, then `x509`, `vault_pki`,
`k8s_token`, `postgres`, `aws_iam_key`...), each implementing `providers.base.Issuer` (issue, verify,
retire) and registered in `providers.base.ISSUERS` under its config `type:` name."""
