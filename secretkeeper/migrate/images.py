"""Which images are known to read a secret from the file a `<NAME>_FILE` env var names.

A small table of official images whose entrypoints document the convention (postgres, mysql, mariadb,
mongo, ...); grafana spells it with two underscores (`GF_..._PASSWORD__FILE`). Any other image is
"unknown": a person must check that the application reads the file, or change it to.
"""

from __future__ import annotations

# repository (without registry and tag) -> the suffix its entrypoint reads
FILE_ENV_IMAGES: dict[str, str] = {
    "library/postgres": "_FILE",
    "library/mysql": "_FILE",
    "library/mariadb": "_FILE",
    "library/mongo": "_FILE",
    "library/wordpress": "_FILE",
    "library/nextcloud": "_FILE",
    "grafana/grafana": "__FILE",
    "bitnami/postgresql": "_FILE",
    "bitnami/mysql": "_FILE",
    "bitnami/mariadb": "_FILE",
    "bitnami/mongodb": "_FILE",
    "bitnami/redis": "_FILE",
}


def repository(image: str) -> str:
    """`docker.io/library/postgres:16@sha256:...` -> `library/postgres`; `postgres` -> `library/postgres`."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]  # a registry host
    if len(parts) == 1:
        parts = ["library", *parts]
    return "/".join(parts).lower()


def file_env_suffix(image: str) -> str | None:
    """The `_FILE` suffix `image` is known to read, or None when it is not known to read any."""
    return FILE_ENV_IMAGES.get(repository(image)) if image else None
