"""The vendor family: a data table of vendors (names, key-name stems, token shapes) expanded into a few rules.

Most SaaS credentials have no prefix of their own: they are 32 hex digits or 40 letters and digits, and
only the name they are stored under says whose they are (`PAYMONGO_KEY = "..."`, `X-Weatherstack-Token:`).
One hand-written regex per vendor would add hundreds of Hyperscan expressions and Python regexes; instead
`vendors.toml` lists each vendor once,

    [[vendors]]
    name = "Weatherstack"
    stems = ["weatherstack"]        # how its key names start (matched case-insensitively, at a word start)
    shapes = ["alnum:32"]           # charset:length of its tokens (hex, alnum, token = alnum plus _ -, uuid)

and the loader joins the stems of every vendor of a charset into ONE rule per charset
(`vendor-keyed-hex`, `-alnum`, `-uuid`): a stem, a credential word in the same key name (key, token,
secret, pass, auth...), an assignment, then a value of that charset. Each entry gets generated true and
false examples (seeded by its name), so `rules test` and the catalog test check every vendor.

The rules are `generic`: a vendor's own rule (a prefix, a checksum) wins on the same secret, and they win
over the generic assignment rules, which they refine with the vendor's identity.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from secretkeeper.errors import RuleError, shown


@dataclass(frozen=True)
class Charset:
    name: str
    cls: str  # the regex class of one token character
    alphabet: str  # what generated examples are drawn from
    lo: int  # lengths the shared rule accepts
    hi: int
    need: str  # lookaheads the confirmation regex adds (a digit, a letter): not a word, not a number
    entropy: float


_HEX = "0123456789abcdef"
_ALNUM = string.ascii_letters + string.digits
CHARSETS: dict[str, Charset] = {
    "hex": Charset("hex", "[0-9a-fA-F]", _HEX, 16, 64, "(?=[0-9]{0,63}[a-fA-F])(?=[a-fA-F]{0,63}[0-9])", 3.0),
    # `token` shapes (letters, digits, `_` and `-`) share the alnum rule: one expression for both.
    "alnum": Charset("alnum", r"[0-9A-Za-z_\-]", _ALNUM, 16, 160,
                     r"(?=[A-Za-z_\-]{0,159}[0-9])(?=[0-9_\-]{0,159}[A-Za-z])", 3.5),
    "uuid": Charset("uuid", "", _HEX, 36, 36, "", 3.0),
    # Base64 keys (44, 64, 88 characters...): the `=` padding is optional.
    "base64": Charset("base64", "[A-Za-z0-9+/]", _ALNUM + "+/", 40, 400,
                      r"(?=[A-Za-z+/]{0,399}[0-9])(?=[0-9+/]{0,399}[A-Za-z])", 4.0),
}
_SHAPE_CHARSET = {"hex": "hex", "alnum": "alnum", "token": "alnum", "uuid": "uuid", "base64": "base64"}
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# What follows the stem inside the key name: a credential word, at most 24 characters on (`_API_KEY`,
# `-Access-Token`, `.secret`, `Pass`); then how a value is assigned in code, config, headers and YAML.
_CRED = r"[\w.\-]{0,24}?(?i:key|token|secret|passw?|pwd|auth|cred|bearer|sid)"
_ASSIGN = r"""[\w.\-]{0,16}?(?:["'`\]]{0,2}[ \t]{0,5}(?::=|=>|[:=])[ \t]{0,5}|["'][ \t]{0,3},[ \t]{0,3})["'`]?"""
_AFTER = r"(?![0-9A-Za-z_\-+/])"
STEM_MIN = 4


@dataclass(frozen=True)
class Vendor:
    name: str
    stems: tuple[str, ...]
    shapes: tuple[tuple[str, int], ...]  # (shape, length)


def _parse_vendor(item: Any, source: str) -> Vendor:
    if not isinstance(item, Mapping):
        raise RuleError(f"{source}: a vendor must be a table")
    name = item.get("name")
    where = f"{source}: vendor {shown(str(name))!r}"
    if not isinstance(name, str) or not name:
        raise RuleError(f"{source}: a vendor needs a name")
    stems, shapes = item.get("stems"), item.get("shapes")
    if not isinstance(stems, list) or not stems or not all(isinstance(s, str) for s in stems):
        raise RuleError(f"{where}: stems must be a non-empty list of strings")
    for stem in stems:
        if len(stem) < STEM_MIN or not stem.replace("_", "").replace("-", "").isalnum() or stem != stem.lower():
            raise RuleError(f"{where}: stem {shown(stem)!r} must be lower-case letters, digits, _ or -, "
                            f"at least {STEM_MIN} long")
    if not isinstance(shapes, list) or not shapes:
        raise RuleError(f"{where}: shapes must be a non-empty list such as [\"hex:32\"]")
    parsed = []
    for shape in shapes:
        kind, _, length = str(shape).partition(":")
        if kind == "uuid":
            parsed.append(("uuid", 36))
            continue
        cs = CHARSETS.get(_SHAPE_CHARSET.get(kind, ""))
        if cs is None or not length.isdigit() or not cs.lo <= int(length) <= cs.hi:
            raise RuleError(f"{where}: shape {shown(str(shape))!r} must be hex:N, alnum:N, token:N "
                            f"(N from 16), base64:N (N from 40) or uuid")
        parsed.append((kind, int(length)))
    return Vendor(name, tuple(stems), tuple(parsed))


_ENDS_CRED = re.compile(r"(?:key|token|secret|pass|auth)$")


def _alternation(stems: list[str]) -> str:
    # Longest first: the alternation is factored into a prefix tree for `re` anyway (rules.confirmation_pattern).
    return "|".join(s.replace("-", r"\-") for s in sorted(set(stems), key=lambda s: (-len(s), s)))


def _regex(charset: Charset, stems: list[str], *, confirm: bool) -> str:
    # A stem that ends with a credential word (`sauce_key`) is a whole key name: no second word needed.
    plain = [s for s in stems if not _ENDS_CRED.search(s)]
    named = [s for s in stems if _ENDS_CRED.search(s)]
    head = f"(?i:{_alternation(plain)}){_CRED}" if plain else ""
    if named:
        head = f"(?:{head}|(?i:{_alternation(named)}))" if head else f"(?i:{_alternation(named)})"
    value = _UUID if charset.name == "uuid" else f"{charset.cls}{{{charset.lo},{charset.hi}}}"
    if charset.name == "base64":
        value += "={0,2}"
    need = charset.need if confirm else ""
    return (rf"(?<![A-Za-z0-9]){head}{_ASSIGN}"
            rf"(?P<secret>{need}{value}){_AFTER if charset.name != 'base64' else '(?![0-9A-Za-z_+/=-])'}")


def _token(rng: random.Random, kind: str, length: int) -> str:
    if kind == "uuid":
        h = "".join(rng.choice(_HEX) for _ in range(32))
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    alphabet = {"hex": _HEX, "alnum": _ALNUM, "base64": _ALNUM + "+/", "digits": string.digits}.get(kind, _ALNUM + "_-")
    if kind == "digits":
        return "".join(rng.choice(alphabet) for _ in range(length))
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value) and value[0] not in "_-":
            return value


# Key names the examples are written under, in turn: env files, code, headers, YAML.
_TRUE_FORMS = ('{UP}_API_KEY={v}', '{low}_token = "{v}"', "X-{Cap}-Key: {v}", "  {low}Secret: '{v}'",
               '"{low}_auth": "{v}"')


def _examples(vendor: Vendor) -> dict[str, dict[str, list[str]]]:
    """Per charset, generated true and false examples of one vendor (values seeded by its name)."""
    rng = random.Random(f"secretkeeper-vendor:{vendor.name}")
    out: dict[str, dict[str, list[str]]] = {}
    for i, (kind, length) in enumerate(vendor.shapes):
        stem = vendor.stems[i % len(vendor.stems)]
        names = {"UP": stem.upper().replace("-", "_"), "low": stem, "Cap": stem.capitalize()}
        ex = out.setdefault(_SHAPE_CHARSET[kind], {"true": [], "false": []})
        form = _TRUE_FORMS[(len(vendor.name) + i) % len(_TRUE_FORMS)]
        ex["true"].append(form.format(v=_token(rng, kind, length), **names))
        # Look-alikes under the same key name: a placeholder of the right length, a key name as the
        # value, and a real-looking value under a key that names no credential.
        ex["false"].append(form.format(v="x" * length if kind != "uuid" else "00000000-0000-0000-0000-000000000000",
                                       **names))
        ex["false"].append(f"{names['UP']}_REGION = \"{_token(rng, kind, length)}\"")
    return out


def _judged_as(charset: Charset) -> dict[str, Any]:
    """How every rule of the family keeps a value of `charset`: as a generic rule, its entropy and filters."""
    return {"entropy": charset.entropy, "min_length": charset.lo, "generic": True,
            "filters": ["placeholder", "env-ref", "hash", "word", "numeric", "public"], "tags": ["vendors"]}


def expand(doc: Mapping[str, Any], source: str, *, examples: bool) -> list[dict[str, Any]]:
    """The rule mappings (see rules.rule_from_mapping) of a catalog file's `[[vendors]]` table."""
    items = doc.get("vendors", [])
    if not isinstance(items, list):
        raise RuleError(f"{source}: `vendors` must be an array of tables ([[vendors]])")
    vendors = [_parse_vendor(item, source) for item in items]
    seen: set[str] = set()
    for v in vendors:
        if v.name in seen:
            raise RuleError(f"{source}: vendor {shown(v.name)!r} listed twice")
        seen.add(v.name)
    rules = []
    for charset in CHARSETS.values():
        members = [v for v in vendors if any(_SHAPE_CHARSET[k] == charset.name for k, _ in v.shapes)]
        if not members:
            continue
        stems = [s for v in members for s in v.stems]
        rule: dict[str, Any] = {
            "id": f"vendor-keyed-{charset.name}",
            "description": f"API key or token ({charset.name}) under a key named after a known vendor "
                           f"({len(members)} vendors, see vendors.toml)",
            "severity": "high",
            "regex": _regex(charset, stems, confirm=True),
            "prefilter": _regex(charset, stems, confirm=False),
            "keywords": sorted(set(stems)),
            **_judged_as(charset),
        }
        if examples:
            true: list[str] = []
            false: list[str] = []
            for v in members:
                ex = _examples(v).get(charset.name, {})
                true.extend(ex.get("true", []))
                false.extend(ex.get("false", []))
            rule["examples"] = {"true": true, "false": false}
        rules.append(rule)
    if vendors:
        rules.append(_spaced_rule(vendors, examples=examples))
    return rules


# A vendor's name, a credential word in capitals and the value with only spaces between, as notes, chat
# logs and shell history write them (`nimble SECRET <value>`, `userflowKEY <value>`). One rule for every
# vendor, its value the alnum charset's: Hyperscan looks for the capitals word and the shortest value only
# (the stems, in the family's own rules, cost the files benchmark 7-10% more with this form added), and the
# regex confirms the stem.
_SPACED_WORD = r"(?:API[_ ]?KEY|KEY|TOKEN|SECRET|PRIVATE|ACCESS|PASSWORD|AUTH):?"


def _spaced_rule(vendors: list[Vendor], *, examples: bool) -> dict[str, Any]:
    stems = sorted({s for v in vendors for s in v.stems})
    cs = CHARSETS["alnum"]
    rule: dict[str, Any] = {
        "id": "vendor-keyed-spaced",
        "description": "API key or token after a known vendor's name and a credential word in capitals, spaces "
                       f"between ({len(vendors)} vendors, see vendors.toml)",
        "severity": "high",
        "regex": (rf"(?<![A-Za-z0-9])(?i:{_alternation(stems)})[ \t_\-]?{_SPACED_WORD}[ \t]{{1,3}}"
                  rf"(?P<secret>{cs.need}{cs.cls}{{{cs.lo},{cs.hi}}}){_AFTER}"),
        "prefilter": rf"{_SPACED_WORD}[ \t]{{1,3}}{cs.cls}{{{cs.lo}}}",
        "keywords": ["key", "token", "secret", "private", "access", "password", "auth"],
        **_judged_as(cs),
    }
    if examples:
        rng = random.Random("secretkeeper-vendor-spaced")
        picked = [vendors[i] for i in range(0, len(vendors), max(1, len(vendors) // 6))][:6]
        forms = ("{low} SECRET {v}", "{low}TOKEN {v}", "{low}_PRIVATE {v}", "{low} API_KEY: {v}", "{Cap}-KEY {v}",
                 "{low} ACCESS {v}")
        true, false = [], []
        for form, v in zip(forms, picked):
            names = {"low": v.stems[0], "Cap": v.stems[0].capitalize()}
            true.append(form.format(v=_token(rng, "token", 32), **names))
            false.append(form.format(v="x" * 32, **names))
        false += ["PRIMARY KEY customer_identifier_column", "the jira token is stored in the vault, see docs",
                  "FOREIGN KEY fk_orders_customer_id_reference"]
        rule["examples"] = {"true": true, "false": false}
    return rule


# `[[prefixed]]` entries: tokens whose own text names the vendor (a prefix or suffix such as `fc-`,
# `_mmk`), written as pieces: "=literal" or "charset:N" / "charset:N-M" (hex, lhex = lower-case hex,
# alnum, token = alnum plus _ and -, upper = upper-case letters and digits, digits). All entries are one
# alternation in one rule, `vendor-prefixed-token`.
_PIECES = {"hex": "[0-9a-fA-F]", "lhex": "[0-9a-f]", "alnum": "[0-9A-Za-z]", "token": r"[0-9A-Za-z_\-]",
           "upper": "[0-9A-Z]", "digits": "[0-9]"}
_PIECE_ALPHABET = {"hex": _HEX, "lhex": _HEX, "alnum": _ALNUM, "token": _ALNUM + "_-",
                   "upper": string.ascii_uppercase + string.digits, "digits": string.digits}


@dataclass(frozen=True)
class Prefixed:
    name: str
    pieces: tuple[tuple[str, int, int], ...]  # (charset or "=", min, max); literal text in charset's place

    @property
    def literal(self) -> str:
        """The longest literal piece: the rule's keyword for this entry."""
        return max((p[0][1:] for p in self.pieces if p[0].startswith("=")), key=len)

    def regex(self) -> str:
        out = []
        for kind, lo, hi in self.pieces:
            if kind.startswith("="):
                out.append(re.escape(kind[1:]))
            else:
                out.append(_PIECES[kind] + (f"{{{lo}}}" if lo == hi else f"{{{lo},{hi}}}"))
        return "".join(out)

    def sample(self, rng: random.Random, fill: str | None = None, short: bool = False) -> str:
        out, shortened = [], False
        for kind, lo, _hi in self.pieces:
            if kind.startswith("="):
                out.append(kind[1:])
                continue
            n = lo - 3 if short and not shortened and lo > 8 else lo
            shortened = shortened or n != lo
            if fill:
                out.append(fill * n)
                continue
            while True:
                value = "".join(rng.choice(_PIECE_ALPHABET[kind]) for _ in range(n))
                if kind in ("digits", "upper") or n < 8 or (any(c.isdigit() for c in value)
                                                              and any(c.isalpha() for c in value)):
                    break
            out.append(value)
        return "".join(out)


def _parse_prefixed(item: Any, source: str) -> Prefixed:
    name = item.get("name") if isinstance(item, Mapping) else None
    if not isinstance(name, str) or not name:
        raise RuleError(f"{source}: a prefixed entry needs a name")
    where = f"{source}: prefixed {shown(name)!r}"
    shape = item.get("shape")
    if not isinstance(shape, list) or not shape or not all(isinstance(s, str) for s in shape):
        raise RuleError(f"{where}: shape must be a list of pieces such as [\"=fc-\", \"hex:32\"]")
    pieces = []
    for piece in shape:
        if piece.startswith("=") and len(piece) > 1:
            pieces.append((piece, 0, 0))
            continue
        kind, _, length = piece.partition(":")
        lo, _, hi = length.partition("-")
        if kind not in _PIECES or not lo.isdigit() or (hi and not hi.isdigit()):
            raise RuleError(f"{where}: piece {shown(piece)!r} must be =literal or charset:N[-M] "
                            f"({', '.join(_PIECES)})")
        pieces.append((kind, int(lo), int(hi or lo)))
    entry = Prefixed(name, tuple(pieces))
    if not any(k.startswith("=") for k, _, _ in pieces) or len(entry.literal) < 3:
        raise RuleError(f"{where}: needs a literal piece of at least 3 characters")
    return entry


def expand_prefixed(doc: Mapping[str, Any], source: str, *, examples: bool) -> list[dict[str, Any]]:
    items = doc.get("prefixed", [])
    if not isinstance(items, list):
        raise RuleError(f"{source}: `prefixed` must be an array of tables ([[prefixed]])")
    entries = [_parse_prefixed(item, source) for item in items]
    if not entries:
        return []
    alternation = "|".join(e.regex() for e in entries)
    rule: dict[str, Any] = {
        "id": "vendor-prefixed-token",
        "description": f"API key or token in a vendor's own prefixed format ({len(entries)} vendors, see vendors.toml)",
        "severity": "high",
        "regex": rf"(?<![0-9A-Za-z_\-])(?P<secret>{alternation})(?![0-9A-Za-z_\-])",
        "keywords": sorted({e.literal.lower() for e in entries}),
        "entropy": 3.0,
        "filters": ["placeholder"],
        "tags": ["vendors"],
    }
    if examples:
        true, false = [], []
        for e in entries:
            rng = random.Random(f"secretkeeper-prefixed:{e.name}")
            key = re.sub(r"[^A-Z0-9]+", "_", e.name.upper()).strip("_")
            true.append(f'{key}_TOKEN="{e.sample(rng)}"')
            false.append(f'{key}_TOKEN="{e.sample(rng, fill="x")}"')
            false.append(f'{key}_TOKEN="{e.sample(rng, short=True)}"')
        rule["examples"] = {"true": true, "false": false}
    return [rule]
