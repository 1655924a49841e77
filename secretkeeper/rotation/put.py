"""`secretkeeper put`: a new version of a managed secret from a person, through the same staged protocol
as a rotation (lock, stage, verify, sync, promote).

The input is a JSON object of key -> text, or one raw value for a secret with a single key (`value` when
its config declares none). It comes from stdin or a file, never the command line (argv is visible to
every user of the machine in `ps` and lands in shell history).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from secretkeeper.errors import SecretkeeperError
from secretkeeper.rotation.engine import Result, rotate
from secretkeeper.rotation.trail import Trail
from secretkeeper.rotation.wiring import Wiring


def parse_input(raw: bytes, keys: Sequence[str], *, name: str, source: str) -> dict[str, bytes]:
    """The keys and values in `raw`; errors name the source and keys, never a value."""
    if raw.lstrip().startswith(b"{"):
        try:
            doc = json.loads(raw)
        except ValueError:  # the decoder's message quotes the input: not echoed
            raise SecretkeeperError(f"{source}: not a valid JSON object (give {{\"key\": \"text\", ...}}, or "
                                    "one raw value)") from None
        if not isinstance(doc, dict) or not doc or not all(isinstance(v, str) for v in doc.values()):
            raise SecretkeeperError(f"{source}: expected a JSON object of key -> text, with at least one key")
        data = {key: value.encode("utf-8") for key, value in doc.items()}
    else:
        if not raw:
            raise SecretkeeperError(f"{source}: empty input: nothing to put")
        if len(keys) > 1:
            raise SecretkeeperError(f"{source}: {name} holds keys {', '.join(keys)}: give a JSON object of them")
        data = {keys[0] if keys else "value": raw}
    if keys:
        missing, extra = [k for k in keys if k not in data], sorted(set(data) - set(keys))
        if missing or extra:
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + \
                ([f"not keys of {name}: {', '.join(extra)}"] if extra else [])
            raise SecretkeeperError(f"{source}: {'; '.join(parts)} (expected {', '.join(keys)})")
    return data


def put(wiring: Wiring, trail: Trail, name: str, data: Mapping[str, bytes]) -> Result:
    wiring.select([name])  # an unknown name is a config error naming the declared ones
    return rotate(wiring.subject(name), trail, given=data)
