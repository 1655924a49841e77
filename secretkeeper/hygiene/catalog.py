"""The hygiene rule catalog, as data: id, severity, description, remediation and example manifests.

Every rule carries `true` examples (manifests it must flag) and `false` examples (manifests it must not);
`secretkeeper.hygiene.examples.check_examples` scans them all through the real manifest scanner and
the test-suite runs it. In examples `${CERT_B64:DAYS}` becomes a base64 PEM certificate, and
`${CERT_PEM:DAYS}` a PEM certificate, that expire in DAYS days (negative: expired).

Severity here is the rule's default; a finding may be lower where the rule says so (namespace-scoped
RBAC, a secret-like ConfigMap key the engine does not recognise, a certificate not yet expired).
"""

from __future__ import annotations

from dataclasses import dataclass

from secretkeeper.findings import Severity

FAMILY = "kubernetes"


@dataclass(frozen=True)
class HygieneRule:
    id: str
    severity: Severity
    description: str
    remediation: str
    true: tuple[str, ...]
    false: tuple[str, ...]
    example_path: str = "example.yaml"
    family: str = FAMILY
    tags: tuple[str, ...] = ("kubernetes", "hygiene")
    kind: str = "hygiene"


_DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  template:
    spec:
      serviceAccountName: web
      automountServiceAccountToken: false
      containers:
      - name: app
        image: shop/web:1.0
{container}"""

_SAFE_CONTAINER = """        securityContext:
          runAsNonRoot: true
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
"""


def _deploy(container: str = _SAFE_CONTAINER, pod: str = "") -> str:
    text = _DEPLOY.format(container=container)
    if pod:
        text = text.replace("      containers:\n", pod + "      containers:\n", 1)
    return text


def _pod(spec: str) -> str:
    return f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: shop}}\nspec:\n{spec}"


HYGIENE_RULES: list[HygieneRule] = [
    HygieneRule(
        id="k8s-env-secret-literal",
        severity=Severity.HIGH,
        description="Environment variable holds a literal secret (secret-like name, or a value the engine "
        "recognises as a credential)",
        remediation="Move the value into a Secret mounted as a read-only file: `secretkeeper migrate "
        "env-to-files <manifest>` creates the Secret, the secret volume and a `NAME_FILE` env var pointing "
        "at it; then rotate the exposed value with `secretkeeper rotate`, since it is in git history.",
        true=(
            _deploy(_SAFE_CONTAINER + "        env:\n        - name: DB_PASSWORD\n          value: Xk9mQ2vLp7Rt\n"),
            _deploy(_SAFE_CONTAINER + "        env:\n        - name: DATABASE_URL\n"
                    "          value: postgres://app:Zq8wTr4nMb@db:5432/shop\n"),  # secretkeeper:allow (synthetic example)
        ),
        false=(
            _deploy(_SAFE_CONTAINER + "        env:\n        - name: DB_PASSWORD_FILE\n"
                    "          value: /run/secrets/db/password\n        - name: TOKEN_TTL\n          value: 3600s\n"),
            _deploy(_SAFE_CONTAINER + "        env:\n        - name: API_TOKEN\n          value: changeme\n"
                    "        - name: SECRET_NAME\n          value: shop-db\n        - name: AUTH_TOKEN\n"
                    "          value: $(UPSTREAM_TOKEN)\n"),
        ),
    ),
    HygieneRule(
        id="k8s-env-secret-ref",
        severity=Severity.MEDIUM,
        description="Secret exposed as an environment variable (`valueFrom.secretKeyRef` or "
        "`envFrom.secretRef`); prefer a mounted file",
        remediation="Mount the Secret as a read-only volume and read the file: `secretkeeper migrate "
        "env-to-files <manifest>` rewrites the env var into a secret volume plus a `NAME_FILE` env var "
        "(env vars leak through /proc, crash dumps, child processes and `kubectl describe`).",
        true=(
            _deploy(_SAFE_CONTAINER + "        env:\n        - name: DB_PASSWORD\n          valueFrom:\n"
                    "            secretKeyRef: {name: shop-db, key: password}\n"),
            _deploy(_SAFE_CONTAINER + "        envFrom:\n        - secretRef: {name: shop-db}\n"),
        ),
        false=(
            _deploy(_SAFE_CONTAINER + "        envFrom:\n        - configMapRef: {name: shop-config}\n"
                    "        env:\n        - name: LOG_LEVEL\n          valueFrom:\n"
                    "            configMapKeyRef: {name: shop-config, key: level}\n"),
        ),
    ),
    HygieneRule(
        id="k8s-secret-plaintext-manifest",
        severity=Severity.HIGH,
        description="Plaintext Secret manifest (`data` / `stringData`) committed to the repository",
        remediation="Delete the file from the repository and rotate every value it held (`secretkeeper "
        "rotate`); keep the values in a store and commit a SealedSecret or ExternalSecret instead, which "
        "`secretkeeper rotate` keeps in sync.",
        true=(
            ("apiVersion: v1\nkind: Secret\nmetadata: {name: shop-db}\ntype: Opaque\ndata:\n"
            "  password: WGs5bVEydkxwN1J0\n"),  # secretkeeper:allow (synthetic example)
            ("apiVersion: v1\nkind: Secret\nmetadata: {name: shop-db}\nstringData:\n  password: ''\n"
            "  database_url: postgres://shop:Zq8wTr4nMb@db:5432/shop\n"),  # secretkeeper:allow (synthetic example)
            "apiVersion: v1\nkind: Secret\nmetadata: {name: shop-db}\nstringData:\n  password: Xk9mQ2vLp7Rt\n",  # secretkeeper:allow (synthetic example)
        ),
        false=(
            ("apiVersion: v1\nkind: Secret\nmetadata: {name: shop-db}\nstringData:\n  password: changeme\n"
            "  token: ''\n"),
            ("apiVersion: v1\nkind: Secret\nmetadata: {name: shop-db}\nstringData:\n  DB_USER: shop\n"
            "  DB_PASSWORD: \"${SHOP_DB_PASSWORD}\"\n  STRIPE_SECRET_KEY: \"<REPLACE_WITH_STRIPE_KEY>\"\n"),  # a template
            ("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: shop-db}\nspec:\n"
            "  encryptedData:\n    password: AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq\n"),  # secretkeeper:allow (synthetic example)
            ("apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata: {name: shop-db}\nspec:\n"
            "  secretStoreRef: {name: vault, kind: ClusterSecretStore}\n  data:\n  - secretKey: password\n"
            "    remoteRef: {key: shop/db, property: password}\n"),
            ("apiVersion: v1\nkind: Secret\nmetadata: {name: shop-db}\ndata:\n"
            "  password: ENC[AES256_GCM,data:p2Vb6A==,iv:aGVsbG8=,tag:dGFn,type:str]\nsops:\n"
            "  mac: ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]\n  lastmodified: '2026-01-01T00:00:00Z'\n"),
        ),
    ),
    HygieneRule(
        id="k8s-configmap-secret",
        severity=Severity.HIGH,
        description="Secret stored in a ConfigMap (a value the engine recognises; medium for a secret-like "
        "key with a real-looking value)",
        remediation="Move the key into a Secret mounted as a file (`secretkeeper migrate env-to-files` for "
        "env consumers) and rotate the value with `secretkeeper rotate`: ConfigMaps are not access-"
        "controlled or encrypted like Secrets.",
        true=(
            ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shop-config}\ndata:\n  log_level: info\n"
            "  db.password: Xk9mQ2vLp7Rt\n"),  # secretkeeper:allow (synthetic example)
            ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shop-config}\ndata:\n"
            "  database_url: postgres://app:Zq8wTr4nMb@db:5432/shop\n"),  # secretkeeper:allow (synthetic example)
        ),
        false=(
            ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shop-config}\ndata:\n  log_level: info\n"
            "  password_file: /run/secrets/db/password\n  token_ttl: '3600'\n  api_key: REPLACE_ME\n"),
        ),
    ),
    HygieneRule(
        id="k8s-legacy-sa-token",
        severity=Severity.MEDIUM,
        description="Legacy service-account token Secret (`kubernetes.io/service-account-token`): a "
        "non-expiring token; its legacy-token-last-used / invalid-since labels are reported",
        remediation="Move off it with `secretkeeper tokens migrate` (who uses it, then invalidate, then delete "
        "it unused): pods get short-lived projected tokens; a client outside the cluster gets a bound token "
        "that `secretkeeper rotate` re-issues (the k8s-token issuer).",
        true=(
            ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: ci-token\n  annotations:\n"
            "    kubernetes.io/service-account.name: ci\n  labels:\n"
            "    kubernetes.io/legacy-token-last-used: '2026-01-10'\ntype: kubernetes.io/service-account-token\n"),
        ),
        false=(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: tls}\ntype: kubernetes.io/dockerconfigjson\n",
        ),
    ),
    HygieneRule(
        id="k8s-sa-token-automount",
        severity=Severity.MEDIUM,
        description="Service-account token mounted automatically (`automountServiceAccountToken` not false) "
        "on a pod or ServiceAccount that nothing grants API access",
        remediation="Set `automountServiceAccountToken: false` on the ServiceAccount or pod spec; a pod that "
        "needs the API gets a projected, audience-bound token volume instead. Check with `secretkeeper scan`.",
        true=(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: shop}\n",
            _deploy().replace("      automountServiceAccountToken: false\n", ""),
        ),
        false=(
            ("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: shop}\n"
            "automountServiceAccountToken: false\n"),
            _deploy(),
            ("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: ctl, namespace: shop}\n---\n"
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: ctl, namespace: shop}\n"
            "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}\n"
            "subjects:\n- {kind: ServiceAccount, name: ctl, namespace: shop}\n"),
        ),
    ),
    HygieneRule(
        id="k8s-default-service-account",
        severity=Severity.LOW,
        description="Workload runs as the namespace's default ServiceAccount",
        remediation="Create a ServiceAccount per workload (with `automountServiceAccountToken: false` unless "
        "it needs the API) and set `serviceAccountName`; check with `secretkeeper scan`.",
        true=(_deploy().replace("      serviceAccountName: web\n", ""),),
        false=(_deploy(),),
    ),
    HygieneRule(
        id="k8s-rbac-secrets-read",
        severity=Severity.HIGH,
        description="Role grants get/list/watch on Secrets (or `*`): high for a ClusterRole (every "
        "namespace), medium for a namespaced Role, low when limited by resourceNames",
        remediation="Remove `secrets` (and `*`) from the rule or limit it with `resourceNames`; rotate the "
        "Secrets its holders could read with `secretkeeper rotate`.",
        true=(
            ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\nrules:\n"
            "- apiGroups: ['']\n  resources: [pods]\n  verbs: [get]\n- apiGroups: ['']\n"
            "  resources: [secrets]\n  verbs: [get, list]\n"),
            ("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: all, namespace: shop}\n"
            "rules:\n- apiGroups: ['*']\n  resources: ['*']\n  verbs: ['*']\n"),
        ),
        false=(
            ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\nrules:\n"
            "- apiGroups: ['']\n  resources: [pods, configmaps]\n  verbs: [get, list, watch]\n"
            "- apiGroups: ['']\n  resources: [secrets]\n  verbs: [create]\n"),
            ("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: sync, namespace: shop}\n"
            "rules:\n- apiGroups: ['']\n  resources: [secrets]\n  verbs: [get, update, patch]\n"
            "  resourceNames: [app-db]\n"),
        ),
    ),
    HygieneRule(
        id="k8s-rbac-cluster-admin-binding",
        severity=Severity.HIGH,
        description="Binding of cluster-admin (ClusterRoleBinding high, RoleBinding medium)",
        remediation="Bind a narrow Role instead of cluster-admin; rotate the credentials of the bound "
        "subjects with `secretkeeper rotate`.",
        true=(
            ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ci-admin}\n"
            "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n"
            "subjects:\n- {kind: ServiceAccount, name: ci, namespace: ci}\n"),
        ),
        false=(
            ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ci-view}\n"
            "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\n"
            "subjects:\n- {kind: ServiceAccount, name: ci, namespace: ci}\n"),
        ),
    ),
    HygieneRule(
        id="tls-cert-expiry",
        severity=Severity.HIGH,
        description="Certificate (TLS Secret or certificate file) expired (high) or expiring within 30 days "
        "(medium)",
        remediation="Renew it: `secretkeeper rotate` issues a new certificate (x509 CA or Vault PKI issuer) "
        "and syncs the TLS Secret, then restarts its consumers.",
        true=(
            ("apiVersion: v1\nkind: Secret\nmetadata: {name: web-tls}\ntype: kubernetes.io/tls\ndata:\n"
            "  tls.crt: ${CERT_B64:10}\n"),
            ("apiVersion: v1\nkind: Secret\nmetadata: {name: web-tls}\ntype: kubernetes.io/tls\ndata:\n"
            "  tls.crt: ${CERT_B64:-3}\n"),
        ),
        false=(
            ("apiVersion: v1\nkind: Secret\nmetadata: {name: web-tls}\ntype: kubernetes.io/tls\ndata:\n"
            "  tls.crt: ${CERT_B64:200}\n"),
        ),
    ),
    HygieneRule(
        id="k8s-etcd-encryption-identity",
        severity=Severity.HIGH,
        description="EncryptionConfiguration stores Secrets unencrypted in etcd (first provider for secrets "
        "is `identity`, or no entry covers secrets)",
        remediation="Put `kms` (v2), `aescbc` or `secretbox` first for `secrets`, keep `identity` last only "
        "while migrating, restart the API servers and rewrite every Secret (`kubectl get secrets -A -o json "
        "| kubectl replace -f -`); `secretkeeper scan` re-checks the file.",
        true=(
            ("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
            "- resources: [secrets]\n  providers:\n  - identity: {}\n  - aescbc:\n      keys:\n"
            "      - {name: key1, secret: c2VjcmV0IGlzIHNlY3VyZQ==}\n"),  # secretkeeper:allow (synthetic example)
        ),
        false=(
            ("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
            "- resources: [secrets]\n  providers:\n  - kms: {apiVersion: v2, name: vault, endpoint: "
            "'unix:///run/kms.sock'}\n  - identity: {}\n"),
        ),
    ),
    HygieneRule(
        id="k8s-privileged-container",
        severity=Severity.HIGH,
        description="Privileged container (can read every secret on the node)",
        remediation="Remove `privileged: true` and grant only the capabilities needed; check with "
        "`secretkeeper scan`.",
        true=(_deploy(_SAFE_CONTAINER.replace("runAsNonRoot: true", "runAsNonRoot: true\n          "
                                              "privileged: true")),),
        false=(_deploy(),),
    ),
    HygieneRule(
        id="k8s-host-namespace",
        severity=Severity.HIGH,
        description="Pod shares a host namespace (hostPID, hostIPC or hostNetwork)",
        remediation="Remove hostPID / hostIPC / hostNetwork from the pod spec; check with `secretkeeper scan`.",
        true=(_deploy(pod="      hostPID: true\n"), _deploy(pod="      hostNetwork: true\n")),
        false=(_deploy(pod="      hostNetwork: false\n"),),
    ),
    HygieneRule(
        id="k8s-hostpath-sensitive",
        severity=Severity.HIGH,
        description="hostPath volume of kubelet, etcd, Kubernetes config or container-runtime paths",
        remediation="Remove the hostPath volume (use a projected or CSI volume for what the pod needs); "
        "rotate credentials the pod could read with `secretkeeper rotate`.",
        true=(
            _deploy(pod="      volumes:\n      - name: kubelet\n        hostPath: {path: /var/lib/kubelet}\n"),
            _deploy(pod="      volumes:\n      - name: sock\n        hostPath: {path: /var/run/docker.sock}\n"),
        ),
        false=(_deploy(pod="      volumes:\n      - name: logs\n        hostPath: {path: /var/log/shop}\n"),),
    ),
    HygieneRule(
        id="k8s-net-raw-not-dropped",
        severity=Severity.MEDIUM,
        description="Container keeps the NET_RAW capability (not dropped, or added)",
        remediation="Add `capabilities: {drop: [ALL]}` (or at least NET_RAW) to the container's "
        "securityContext; check with `secretkeeper scan`.",
        true=(_deploy(_SAFE_CONTAINER.replace("{drop: [ALL]}", "{drop: [SYS_ADMIN]}")),),
        false=(_deploy(),),
    ),
    HygieneRule(
        id="k8s-proc-mount-unmasked",
        severity=Severity.HIGH,
        description="Container sets `procMount: Unmasked`",
        remediation="Remove `procMount: Unmasked` (the default masks host /proc paths); check with "
        "`secretkeeper scan`.",
        true=(_deploy(_SAFE_CONTAINER + "          procMount: Unmasked\n"),),
        false=(_deploy(_SAFE_CONTAINER + "          procMount: Default\n"),),
    ),
    HygieneRule(
        id="k8s-writable-root-fs",
        severity=Severity.LOW,
        description="Container root filesystem is writable (`readOnlyRootFilesystem` not true)",
        remediation="Set `readOnlyRootFilesystem: true` and mount an emptyDir where the app writes; check "
        "with `secretkeeper scan`.",
        true=(_deploy(_SAFE_CONTAINER.replace("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false")),),
        false=(_deploy(),),
    ),
    HygieneRule(
        id="k8s-run-as-root",
        severity=Severity.LOW,
        description="Container may run as root (no `runAsNonRoot: true`, no non-zero `runAsUser`, or "
        "`runAsUser: 0`)",
        remediation="Set `runAsNonRoot: true` and a non-zero `runAsUser` in the securityContext; check with "
        "`secretkeeper scan`.",
        true=(
            _deploy(_SAFE_CONTAINER.replace("runAsNonRoot: true", "runAsUser: 0")),
            _deploy(_SAFE_CONTAINER.replace("          runAsNonRoot: true\n", "")),
        ),
        false=(
            _deploy(),
            _deploy(_SAFE_CONTAINER.replace("runAsNonRoot: true", "runAsUser: 10001")),
        ),
    ),
]

# Certificate files (`.crt`, `.pem`, ...) are checked by the same rule.
CERT_FILE_EXAMPLES = {"true": ("${CERT_PEM:5}",), "false": ("${CERT_PEM:400}",)}

RULES_BY_ID: dict[str, HygieneRule] = {}
for _r in HYGIENE_RULES:
    if _r.id in RULES_BY_ID:  # pragma: no cover - a catalog bug
        raise ValueError(f"duplicate hygiene rule id {_r.id!r}")
    RULES_BY_ID[_r.id] = _r
