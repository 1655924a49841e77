"""`--store NAME`: a workload's literal values go into a store from the config (through its staged
protocol: stage, then promote) instead of a Secret file; the report shows the managed secret to declare so
that rotation keeps the Secret in sync."""

from __future__ import annotations

import uuid

from secretkeeper.errors import SecretkeeperError
from secretkeeper.migrate.plan import WorkloadPlan


def open_named_store(cfg, name: str):
    from providers.stores import open_store

    if name not in cfg.stores:
        declared = ", ".join(cfg.stores) or "none"
        raise SecretkeeperError(f"--store {name}: no such store in the config (declared: {declared})")
    return open_store(name, cfg.stores[name])


def put_literals(store, path: str, plan: WorkloadPlan) -> None:
    """The literal values as the store's current version of `path`, through its staged protocol."""
    from providers.errors import NotFound

    try:
        current = store.read(path).version
    except NotFound:
        current = None
    staged = store.stage(path, {k: v.encode("utf-8") for k, v in plan.literals.items()}, token=uuid.uuid4().hex)
    store.promote(path, staged.version, expect_current=current)


def managed_snippet(store: str, path: str, plan: WorkloadPlan) -> str:
    keys = ", ".join(plan.literals)
    ns = plan.obj.namespace or "default"
    return (f"declare it so it syncs into Secret {plan.new_secret}: secrets: [{{name: {plan.new_secret}, "
            f"store: {store}, path: {path}, issuer: {{type: static}}, keys: [{keys}], sync: [{{manifest: "
            f"{{dir: <dir>, namespace: {ns}, secret: {plan.new_secret}}}}}]}}]")
