"""`secretkeeper.yaml` / `.secretkeeper.yaml`: one file for the whole tool, a section per job.

    root.py      Config: the file's sections
    loader.py    discovery, YAML, validation, errors as FILE:LINE: key: problem
    scan.py      `scan:` (what a scan skips, allows, adds)
    stores.py    `stores:` (where managed secrets live)
    secrets.py   `secrets:` (what is managed, by which issuer, how often, synced where)

This module is the package's interface: the rest of the project imports from here.
"""

from secretkeeper.config.loader import find_config, load_config, resolve_config
from secretkeeper.config.root import Config
from secretkeeper.config.scan import parse_size

__all__ = ["Config", "find_config", "load_config", "parse_size", "resolve_config"]
