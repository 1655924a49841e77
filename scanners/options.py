"""What each source is asked to scan: the typed options the scan command builds from its flags.

The pipeline's ScanOptions holds one of each; a source reads only its own. Kept apart from the sources
themselves so that building them imports nothing heavy (the image source imports an HTTP client).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HistoryOptions:
    """Which git history to scan (scanners/git/): by default every ref of every repository among the paths."""

    enabled: bool = True  # False: --no-history (--since, --staged and --branch scan history all the same)
    since: str | None = None  # only blobs not reachable from this revision (pull requests); no working tree
    staged: bool = False  # only the index (pre-commit); no working tree
    branches: tuple[str, ...] = ()  # these refs instead of all refs
    stash: bool = False  # also refs/stash


@dataclass(frozen=True)
class ImageOptions:
    """Container images (scanners/images.py)."""

    refs: tuple[str, ...] = ()  # registry references, oci:DIR[:TAG], docker-archive:FILE[:REPO:TAG]
    layers: bool = False  # also every file in every layer, not only the config
    platform: str | None = None  # the platform picked from a manifest list (None: linux/amd64)


@dataclass(frozen=True)
class ClusterOptions:
    """A live cluster through the Kubernetes API (scanners/cluster.py)."""

    objects: bool = False  # workloads, Secrets (metadata only), ConfigMaps, ServiceAccounts, RBAC
    images: ImageOptions | None = None  # also the images running pods use, scanned with these options
    context: str | None = None  # kubeconfig context (None: the current one)
    namespace: str | None = None  # None: the context's namespace, like kubectl
    all_namespaces: bool = False

    @property
    def wanted(self) -> bool:
        return self.objects or self.images is not None
