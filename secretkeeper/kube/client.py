"""The Kubernetes API client: the connection, GET requests through it, and paginated listing.

- `connect(context)`: the kubeconfig (`KUBECONFIG`, a `:`-separated list merged as kubectl does, else
  ~/.kube/config) with `context` (default: the current one) or, inside a pod with no kubeconfig, the
  in-cluster service-account config. TLS verification always stays on, whatever the kubeconfig says.
  A broken kubeconfig, an unknown context, an unreachable server, a server that fails TLS verification or
  rejects the credentials, credentials that cannot be loaded (a failing exec plugin, an empty token
  file: `secretkeeper.kube.auth`) is a SecretkeeperError naming the context and server (its URL
  redacted; never a credential).
- `list_objects(conn, resource, namespace)`: every object, page by page (`limit`/`continue`; an expired
  continue token restarts the list once); a resource the credentials may not list raises `Forbidden`.
  Everything the API server answers is treated as hostile: each response is read up to MAX_PAGE_BYTES
  (a larger page is asked again with a smaller `limit`), a listing ends after MAX_PAGES pages or
  MAX_OBJECTS objects, at a repeated continue token, or at a response that is not a list of objects
  with ObjectMeta-shaped metadata: `Unlistable`, naming the resource.
- `list_visible(...)`: the same, with a forbidden or unlistable resource as one warning.

Requests go through the kubernetes client's own connection pool and auth (bearer tokens, refreshed
exec/auth-provider tokens, client certificates); its generated API classes are not used: importing them
costs seconds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from secretkeeper.errors import SecretkeeperError
from secretkeeper.kube.auth import credential_problem, exec_plugin, plugin_failures, user_entry
from secretkeeper.redact import redact_url

PAGE_SIZE = 500
# A page of 500 Helm release Secrets can pass 64 MiB: such a page is asked again with a quarter of the
# limit. No single object comes near it (etcd refuses values over 1.5 MiB by default).
MAX_PAGE_BYTES = 64 << 20
MAX_PAGES = 10_000
MAX_OBJECTS = 1_000_000  # per listing: several times what Kubernetes is tested to hold (150,000 pods)
_CHUNK = 1 << 20
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60
IN_CLUSTER_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


@dataclass(frozen=True)
class Resource:
    """One kind of object the API serves: its API path pieces and kind."""

    plural: str
    kind: str
    group_version: str  # "v1", "apps/v1", ...
    namespaced: bool = True
    optional: bool = False  # older servers may not serve it: a 404 lists nothing

    def path(self, namespace: str | None) -> str:
        base = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        if self.namespaced and namespace is not None:
            return f"{base}/namespaces/{quote(namespace, safe='')}/{self.plural}"
        return f"{base}/{self.plural}"


class Forbidden(Exception):
    """The credentials may not list the resource (HTTP 403)."""


class Unlistable(SecretkeeperError):
    """The API server's answers to a listing cannot be used (malformed, endless, too large); the listing
    ends, and what was listed before stays."""


class _TooLarge(Exception):
    """A response body over MAX_PAGE_BYTES."""


# -- connection -----------------------------------------------------------------------------------------
@dataclass
class Connection:
    api: Any  # kubernetes.client.ApiClient
    context: str  # context name, or "in-cluster"
    server: str
    namespace: str  # the context's default namespace
    plugin: str | None = None  # the user's exec auth plugin, run again when its token expires

    def describe(self) -> str:
        return f"context {self.context} ({redact_url(self.server)})"

    def get(self, path: str, query: dict[str, Any]) -> tuple[int, bytes]:
        """(HTTP status, body) of one GET; a transport or TLS failure is a SecretkeeperError, a body over
        MAX_PAGE_BYTES raises _TooLarge."""
        return self.request("GET", path, query)

    def request(self, method: str, path: str, query: dict[str, Any], body: Any = None,
                content_type: str = "application/json") -> tuple[int, bytes]:
        """(HTTP status, body) of one request, `body` sent as JSON; as `get` for failures."""
        import urllib3
        from urllib3.exceptions import HTTPError, SSLError

        cfg = self.api.configuration
        headers = {"Accept": "application/json", "User-Agent": "secretkeeper"}
        if body is not None:
            headers["Content-Type"] = content_type
        with plugin_failures(self.plugin) as failures:  # an expired exec token is refreshed here
            settings = cfg.auth_settings() or {}
        if failures:
            raise SecretkeeperError(f"{self.describe()}: {credential_problem(cfg, {}, failures)}")
        for auth in settings.values():
            if auth.get("in") == "header" and auth.get("value"):
                headers[auth["key"]] = auth["value"]
        url = cfg.host.rstrip("/") + path + ("?" + urlencode(query) if query else "")
        try:
            resp = self.api.rest_client.pool_manager.request(
                method, url, headers=headers, preload_content=False,
                body=None if body is None else json.dumps(body).encode("utf-8"),
                timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT))
            try:
                return resp.status, _read_capped(resp)
            except BaseException:
                resp.close()  # bytes left unread: the connection must not go back to the pool as it is
                raise
            finally:
                resp.release_conn()
        except HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            if isinstance(reason, SSLError) or isinstance(exc, SSLError):
                raise SecretkeeperError(f"{self.describe()}: TLS verification of the API server failed (the "
                                        "kubeconfig's certificate-authority does not vouch for it; "
                                        "verification is never disabled)") from None
            raise SecretkeeperError(f"{self.describe()}: cannot reach the Kubernetes API server "
                                    f"({type(reason).__name__})") from None
    def send(self, method: str, path: str, body: Any = None, *, query: dict[str, Any] | None = None,
             content_type: str = "application/json") -> tuple[int, Any]:
        """(HTTP status, decoded JSON or None) of one request (a Lease, a Secret write, a restart patch):
        `request`, decoded; error statuses are returned, not raised; the body is never put in an error."""
        try:
            status, data = self.request(method, path, query or {}, body, content_type)
        except _TooLarge:
            raise SecretkeeperError(f"{self.describe()}: {method} {path}: the answer is too large") from None
        try:
            return status, json.loads(data) if data else None
        except (ValueError, RecursionError):
            return status, None

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(context: str | None = None) -> Connection:
    """Kubeconfig (`KUBECONFIG`, else ~/.kube/config) with `context`, else the in-cluster config."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    paths = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    existing = [p for p in paths.split(os.pathsep) if p and os.path.exists(p)]
    cfg = client.Configuration()
    if not existing:
        if context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            try:
                config.load_incluster_config(client_configuration=cfg)
            except ConfigException as exc:
                raise SecretkeeperError(f"in-cluster config: {_safe_reason(exc)}") from None
            namespace = "default"
            try:
                with open(IN_CLUSTER_NAMESPACE, encoding="utf-8") as fh:
                    namespace = fh.read().strip() or "default"
            except OSError:
                pass
            return Connection(_api_client(client, cfg), "in-cluster", cfg.host, namespace)
        raise SecretkeeperError(f"no kubeconfig found ({paths}) and not running inside a cluster")
    where = os.pathsep.join(existing)
    try:
        contexts, active = config.list_kube_config_contexts(config_file=where)
    except Exception as exc:
        raise SecretkeeperError(f"kubeconfig {where}: cannot be read ({_safe_reason(exc)})") from None
    names = [c.get("name") for c in contexts or []]
    chosen = next((c for c in contexts or [] if c.get("name") == context), None) if context else active
    if chosen is None:
        if context:
            raise SecretkeeperError(f"kubeconfig {where}: no context named {context!r} "
                                    f"(available: {', '.join(map(str, names)) or 'none'})")
        raise SecretkeeperError(f"kubeconfig {where}: no current context; pass --context")
    name = str(chosen.get("name"))
    try:
        user = user_entry(where, chosen)
        with plugin_failures(exec_plugin(user)) as failures, _key_material_in_memory():
            config.load_kube_config(config_file=where, context=name, client_configuration=cfg,
                                    persist_config=False)
    except Exception as exc:
        raise SecretkeeperError(f"kubeconfig {where}: context {name} cannot be loaded "
                                f"({_safe_reason(exc)})") from None
    problem = credential_problem(cfg, user, failures)
    if problem:  # scanning anonymously could end clean: every resource "not visible"
        raise SecretkeeperError(f"kubeconfig {where}: context {name}: {problem}; not scanning without "
                                "credentials")
    namespace = str((chosen.get("context") or {}).get("namespace") or "default")
    return Connection(_api_client(client, cfg), name, cfg.host, namespace, exec_plugin(user))


_MEMORY_FILES: list[int] = []  # open for the life of the process: the TLS layer reads them at each connect


@contextmanager
def _key_material_in_memory() -> Iterator[None]:
    """The kubernetes client writes a kubeconfig's *-data fields (client-key-data: a private key) to temp
    files in /tmp, removed only at a clean exit: a run killed mid-rotation would leave the key on disk.
    On Linux they go to memory-only files (memfd) instead, which vanish with the process."""
    from kubernetes.config import kube_config

    original = getattr(kube_config, "_create_temp_file_with_content", None)
    if original is None or not hasattr(os, "memfd_create") or not os.path.isdir("/proc/self/fd"):
        yield
        return

    def in_memory(content: str | bytes, temp_file_path: str | None = None, force_recreate: bool = False) -> str:
        fd = os.memfd_create("secretkeeper-kubeconfig")
        data = memoryview(content.encode() if isinstance(content, str) else content)
        while data:
            data = data[os.write(fd, data):]
        _MEMORY_FILES.append(fd)
        return f"/proc/self/fd/{fd}"

    kube_config._create_temp_file_with_content = in_memory
    try:
        yield
    finally:
        kube_config._create_temp_file_with_content = original


def _api_client(client: Any, cfg: Any) -> Any:
    cfg.verify_ssl = True  # never disabled, whatever the kubeconfig says
    cfg.retries = 0  # fail fast and quietly: urllib3 logs each retry as a warning on stderr
    return client.ApiClient(cfg)


def _safe_reason(exc: BaseException) -> str:
    """The exception class and its first line, cut short, URLs redacted: kubeconfig errors name keys and
    files, not values."""
    first = redact_url(str(exc).splitlines()[0][:160]) if str(exc) else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _read_capped(resp: Any) -> bytes:
    """The body as sent (never decompressed: a gzip bomb stays small), refused past MAX_PAGE_BYTES."""
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PAGE_BYTES:
        raise _TooLarge()
    buf = bytearray()
    while chunk := resp.read(min(_CHUNK, MAX_PAGE_BYTES + 1 - len(buf)), decode_content=False):
        buf += chunk
        if len(buf) > MAX_PAGE_BYTES:
            raise _TooLarge()
    return bytes(buf)


# -- listing --------------------------------------------------------------------------------------------
def list_objects(conn: Connection, resource: Resource, namespace: str | None) -> Iterator[dict[str, Any]]:
    """Every object of `resource` in `namespace` (None: all namespaces / cluster-scoped), page by page."""
    scope = f"{resource.plural} {_scope(resource, namespace)}"
    token: str | None = None
    restarted = False
    limit = PAGE_SIZE
    seen: set[str] = set()
    tokens: set[str] = set()
    for _ in range(MAX_PAGES):
        query: dict[str, Any] = {"limit": limit}
        if token:
            query["continue"] = token
        try:
            status, data = conn.get(resource.path(namespace), query)
        except _TooLarge:
            if limit == 1:
                raise Unlistable(f"{scope}: the API server answered more than {MAX_PAGE_BYTES >> 20} MiB for "
                                 "one object; listing stopped") from None
            limit = max(limit // 4, 1)
            continue
        if status == 403:
            raise Forbidden()
        if status == 410 and token and not restarted:  # continue token expired: list again from the start
            token, restarted = None, True
            tokens.clear()
            continue
        if status == 401:
            raise SecretkeeperError(f"{conn.describe()}: the API server rejected the credentials "
                                    "(401 Unauthorized)")
        if status == 404 and resource.optional:
            return
        if status != 200:
            raise SecretkeeperError(f"{conn.describe()}: listing {resource.plural} failed (HTTP {status}"
                                    f"{_status_reason(data)})")
        try:
            page = json.loads(data)
        except (ValueError, RecursionError):
            raise SecretkeeperError(f"{conn.describe()}: listing {resource.plural} returned a response that "
                                    "is not JSON") from None
        del data
        problem = _malformed_page(page)
        if problem:
            raise Unlistable(f"{scope}: the API server answered {problem}; listing stopped")
        for item in page.get("items") or []:
            uid = (item.get("metadata") or {}).get("uid") or str(id(item))
            if uid in seen:
                continue
            seen.add(uid)
            if len(seen) > MAX_OBJECTS:
                raise Unlistable(f"{scope}: more than {MAX_OBJECTS} objects; listing stopped")
            # list items come without their kind; one claiming another kind would dodge the stripping
            # of Secret values
            item["apiVersion"], item["kind"] = resource.group_version, resource.kind
            yield item
        token = (page.get("metadata") or {}).get("continue") or None
        if not token:
            return
        if token in tokens:
            raise Unlistable(f"{scope}: the API server repeated a continue token (a listing that never "
                             "ends); listing stopped")
        tokens.add(token)
    raise Unlistable(f"{scope}: more than {MAX_PAGES} pages; listing stopped")


def list_visible(conn: Connection, resource: Resource, namespace: str | None,
                 warnings: list[str]) -> Iterator[dict[str, Any]]:
    """`list_objects`, but a resource the credentials may not list is invisible: one warning in
    `warnings` ("secrets in namespace X: not visible with these permissions"), and the listing ends; a
    listing the API server makes unusable ends with its warning too."""
    try:
        yield from list_objects(conn, resource, namespace)
    except Forbidden:
        warnings.append(f"{resource.plural} {_scope(resource, namespace)}: not visible with these permissions")
    except Unlistable as exc:
        warnings.append(str(exc))


def _scope(resource: Resource, namespace: str | None) -> str:
    return (f"in namespace {namespace}" if namespace else
            "in any namespace" if resource.namespaced else "(cluster-wide)")


_META_STRINGS = ("name", "namespace", "uid")
_META_MAPS = ("labels", "annotations")


def _malformed_page(page: Any) -> str | None:
    """What makes `page` not a list of objects with ObjectMeta-shaped metadata (the fields a scan reads),
    or None."""
    if not isinstance(page, dict):
        return "something that is not a JSON object"
    items, meta = page.get("items"), page.get("metadata")
    if not isinstance(items, list | None) or not isinstance(meta, dict | None):
        return "a list whose items or metadata have the wrong type"
    if meta and not isinstance(meta.get("continue"), str | None):
        return "a continue token that is not a string"
    for item in items or []:
        if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict | None):
            return "an item that is not an object with metadata"
        meta = item.get("metadata") or {}
        if (not all(isinstance(meta.get(key), str | None) for key in _META_STRINGS)
                or not all(_string_map(meta.get(key)) for key in _META_MAPS)
                or not isinstance(meta.get("ownerReferences"), list | None)):
            return "an item whose metadata has the wrong types"
    return None


def _string_map(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and all(isinstance(v, str) for v in value.values()))


def _status_reason(data: bytes) -> str:
    """The `reason` of a metav1.Status body (a fixed word like NotFound), never its message."""
    try:
        reason = json.loads(data).get("reason")
    except (ValueError, AttributeError, RecursionError):
        return ""
    return f" {reason}" if isinstance(reason, str) and reason.isalnum() else ""
