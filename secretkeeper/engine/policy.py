"""Match policy: which confirmed matches are findings, and one finding per secret.

A match is kept when it is long enough, passes the rule's value filters, entropy floor and validator,
is no documented example, is not allowlisted (by the rule or the config) and carries no inline allow
marker on its line (or a `nextline` marker on the line before). A generic rule's match is also dropped
where its key sits in a shell expansion, an ARN, under a hash word, or names a search-only key. Overlapping matches are then
resolved: a generic rule yields to a specific one on the same secret.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from secretkeeper.engine.match import Match
from secretkeeper.engine.newlines import NewlineIndex
from secretkeeper.filters import FILTERS, Filter, is_documented_example, shannon_entropy
from secretkeeper.rules import Allowlist, Rule
from secretkeeper.validators import registry as validator_registry
from secretkeeper.validators.core import jwt_json

# Inline allow markers (ours and other scanners'): on a secret's line, or with `nextline` on the line before.
_ALLOW_MARKERS = (b"secretkeeper:allow", b"gitleaks:allow", b"pragma: allowlist secret", b"nosec: secret")
_ALLOW_NEXTLINE = b"pragma: allowlist nextline secret"
_ALLOW_RE = re.compile(b"|".join(re.escape(m) for m in _ALLOW_MARKERS))
_ALLOW_NEXTLINE_RE = re.compile(re.escape(_ALLOW_NEXTLINE))


class MatchPolicy:
    """The keep/drop decision for a candidate match, with the config's allowlist."""

    def __init__(self, allowlist: Allowlist) -> None:
        self.allowlist = allowlist
        self._validators = validator_registry()
        self._order: dict[tuple[str, ...], tuple[Filter, ...]] = {}  # by the filters named

    def _filters(self, rule: Rule) -> tuple[Filter, ...]:
        """The rule's value filters in the order they run. The order changes the cost, never the verdict.
        The placeholder filter first: templates and placeholders (`${DB_PASSWORD}`) are most of what
        generic rules match, and it rejects them in a few thousand instructions. Before it only the
        resource-name filter, where the rule has it: names (`migration-timeout`, `app.settings.key`) are
        most candidates of the key-name rules in YAML, and three anchored matches reject them for a
        fraction of the placeholder filter's cost. The entropy (~20k) comes after all filters."""
        order = self._order.get(rule.filters)
        if order is None:
            first = [n for n in ("name", "placeholder") if n in rule.filters]
            order = self._order[rule.filters] = tuple(
                FILTERS[n] for n in first + [n for n in rule.filters if n not in first])
        return order

    def keep(self, rule: Rule, secret: bytes, whole: bytes, newlines: NewlineIndex, start: int,
             match_start: int) -> bool:
        """Whether `secret`, at `start` in the buffer (in the match `whole` from `match_start`), is a finding."""
        stripped = secret.strip()
        if len(stripped) < max(rule.min_length, 1):
            return False
        for check in self._filters(rule):
            if check(stripped, whole):
                return False
        if rule.entropy is not None and shannon_entropy(stripped) < rule.entropy:
            return False
        if is_documented_example(stripped):
            return False
        if rule.generic and _generic_context_rejects(newlines.data, match_start, start, stripped):
            return False
        if rule.generic and "password" not in rule.id and _UPPER_WORDS_RE.match(stripped):
            return False  # an enum or keyword (`"token": "SCHEDULE"`); a password may be any word, not a token
        if rule.id.startswith("generic-") and _PASSWORD_HASH_RE.match(stripped):
            return False  # a hash under a password key: the hash, device and credential-file rules judge those
        if rule.generic and _JWT_SHAPE_RE.match(stripped) and jwt_json(stripped) is not None:
            return False  # a JWT under a token key: the jwt rule judges it (an unsigned `alg: none` one is no
            # secret); JWT-like tokens that are none (TeamCity's `eyJ0eXAiOiAiVENWMiJ9.<random>.<random>`) stay
        if rule.allowlist.allows_secret(stripped) or self.allowlist.allows_secret(stripped):
            return False
        if rule.validator and not self._validators[rule.validator](stripped, whole):
            return False
        return not inline_allowed(newlines, match_start, start + len(secret))


# What a generic rule's key can sit inside without being assigned a value there: a shell parameter
# expansion that fails or substitutes (`${DB_PASSWORD:?must be set}`, `${X:+--password}`; a default,
# `${X:-value}`, is a value) and an ARN (`arn:aws:secretsmanager:us-east-1:1:secret:prod/db`).
_EXPANSION_RE = re.compile(rb"\$\{[\w.]{0,64}\Z")
# Its fields may be wildcards or a schema's regex (`arn:aws:secretsmanager:*:*:secret:rds!*`,
# `^arn:aws(|-cn):secretsmanager:[a-z0-9-]+:([0-9]{12}|):secret:`).
_ARN_RE = re.compile(rb"\barn:[^\s\"':]{1,40}:[^\s\"':]{1,64}:[^\s\"':]{0,64}:[^\s\"':]{0,64}:[^\s\"']{0,80}\Z")
# A value that is itself a pattern: a quantified character range (`[a-zA-Z0-9/_+=.@-]+`) or escape class
# (`\d{12}`), as schemas and validators write what a secret looks like.
_PATTERN_VALUE_RE = re.compile(rb"\[\^?[A-Za-z0-9]-[A-Za-z0-9][^\]\s]{0,60}\][+*?{]|\\[dwsS][+*{]")
# A digest under a key that a hash word qualifies: Helm's `checksum/secret: <sha256>` annotations.
_HASH_QUALIFIER_RE = re.compile(rb"(?i)(?:checksum|digest|hash|sha(?:1|256|512)?)[/._-]?\Z")
# A search-only key (Algolia's `searchOnlyApiKey`, `ALGOLIA_SEARCH_KEY`): made for browsers, not a secret.
# A plain `search_key` is Algolia's only where Algolia is named nearby (an Azure Search admin key is not).
_SEARCH_ONLY_KEY_RE = re.compile(rb"(?i)search[_.-]?only[_.-]?(?:api[_.-]?)?key")
_SEARCH_KEY_RE = re.compile(rb"(?i)search[_.-]?(?:api[_.-]?)?key")
_ALGOLIA_RE = re.compile(rb"(?i)algolia")
# Values that name something rather than hold a secret: an ARN (`arn:aws:iam::aws:policy/IAMUserChangePassword`),
# a Rails route target (`"cms/sites/passwords#update"`), a Google API kind (`identitytoolkit#VerifyCustomTokenResponse`), and a value cut between two strings of minified
# code (`passwordLabel:"Password:",rememberMeLabel:"..."` read as key `Password`, value `,rememberMeLabel:`).
_NAMING_VALUE_RE = re.compile(rb"arn:aws[a-z-]*:[a-z0-9-]+:|[a-z0-9_]+(?:/[a-z0-9_]+)+\#[a-z_]+\Z|[a-z]+\#[A-Z][A-Za-z]+\Z"
                              rb"|[,;]\s*[A-Za-z_$][\w$]*\s*:\Z")
# A name the match starts in whose first part says public (`publicKeyToken`, `public_api_token`).
_PUBLIC_NAME_RE = re.compile(rb"(?i)(?<![A-Za-z0-9_])public[A-Za-z0-9_.-]{0,30}\Z")
# Algolia DocSearch's `docsearch({apiKey: ...})`: its keys are search-only by design, made for the page.
_DOCSEARCH_RE = re.compile(rb"(?i)\bdocsearch\s*\(")
_HEX_DIGEST_RE = re.compile(rb"[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}|[0-9a-fA-F]{128}")
# A key that says its value names something (a request field, a column, a position): API models'
# `"input_token": "nextToken"`, `"result_key": "Items"`, `NEXT_PAGE_TOKEN`, `sort_key`. (`primary` is not
# among them: Azure's primary keys are account keys; nor `cache`: a Redis cache key is its password.)
_NAMING_KEY_RE = re.compile(rb"(?i)(?:input|output|next|prev|previous|page|result|limit|sort|partition|range|"
                            rb"continuation|pagination|cursor|marker|idempotency|lookup|dedupe?|csrf|xsrf)"
                            rb"[_.-]?(?:token|key)s?[\"'`]{0,2}[ \t]*(?:=>|:=|=|:)[^\n]{0,8}\Z")
# A key that is the last part of a type name (`AWS::ApiGateway::ApiKey`: CloudFormation's resource types).
_TYPE_PATH_RE = re.compile(rb"\b[A-Za-z][A-Za-z0-9]*::[A-Za-z][A-Za-z0-9]*::[A-Za-z][A-Za-z0-9]*[\"'`]?[ \t]*(?:=>|:=|=|:)[^\n]{0,8}\Z")
# A version or a version range (`"registry-auth-token": "^4.0.0"` in a package manifest): never a secret.
_VERSION_SPEC_RE = re.compile(rb"^(?:[\^~]|[<>]=?|==?)?v?\d{1,6}(?:\.(?:\d{1,6}|[x*])){1,3}(?:[-+][\w.]{1,40})?$")
# Another assignment read as the value of an empty one (`GIT_CONFIG_KEY_0= GIT_CONFIG_VALUE_0=value`): base64
# has `=` only at its end.
_NEXT_ASSIGNMENT_RE = re.compile(rb"^[A-Z_][A-Z0-9_]{2,}=[^=]")
# A type written as a string (`secret_key: "Optional[str]" = None`): an annotation, not a value.
_TYPE_EXPR_RE = re.compile(rb"^(?:[A-Za-z_][\w]*\.)*[A-Z][\w]*\[[\w\[\], .|\"']{1,80}\]$")
# An option setting, `Name=value` (`"StrictHostKeyChecking=no"`): base64 has `=` only at its end.
_OPTION_VALUE_RE = re.compile(rb"^[A-Z][A-Za-z]{2,40}=[A-Za-z0-9_.-]{1,40}$")
# A password hash in a known format (crypt, bcrypt, argon2, Django/Werkzeug PBKDF2 and scrypt, LDAP): the
# hash rules judge those (and leave test fixtures alone); under a password key it is no password.
_PASSWORD_HASH_RE = re.compile(rb"(?:\{(?:bcrypt|pbkdf2|scrypt|argon2|sha256|MD5|SHA-?(?:1|256)?)\})?"  # Spring's id prefix
                               rb"(?:md5[0-9a-f]{32}$|SCRAM-SHA-256\$\d+:"  # PostgreSQL's stored role passwords
                               rb"|pbkdf2[_:]sha(?:1|256|512)[:$]|scrypt:\d|bcrypt\$|argon2(?:id|i|d)?\$|\$argon2"
                               rb"|\$2[abxy]?\$\d\d\$|\$[156]\$|\$y\$|\{S?SHA(?:256|384|512)?\}|\{(?:S?MD5|CRYPT)\})")
# Three base64url parts, the first a JSON object's (`eyJ`): a JWT, whatever name it is assigned to.
_JWT_SHAPE_RE = re.compile(rb"^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*$")
# An enum keyword or constant (`"token": "SCHEDULE"`): under a token or key name, a word, not a token.
_UPPER_WORDS_RE = re.compile(rb"^[A-Z]{2,20}(?:_[A-Z]{2,20}){0,3}$")
# Words prose is made of: a value of four or more words with two of these is a description, not a
# passphrase (`"KeyStorePassword": "The password for the kmsuser CU account in the specified cluster."`).
_PROSE_WORDS = frozenset(b"the a an of for to in on at as is are be been must should can will your you this that "
                         b"these with from by and or not it its".split())


def _generic_context_rejects(data: bytes, match_start: int, secret_start: int, secret: bytes) -> bool:
    """Whether the text before a generic rule's match puts its key in such a place (bounded searches
    ending where the match starts)."""
    lo = max(0, match_start - 200)
    if data[secret_start:secret_start + 1] in (b"?", b"+") and _EXPANSION_RE.search(data, lo, match_start):
        return True
    if secret[:1] == b"-" and secret[1:2] in (b"}", b"") and _EXPANSION_RE.search(data, lo, match_start):
        return True  # `${SMTP_PASSWORD:-}`: an empty default is no value
    if _HEX_DIGEST_RE.fullmatch(secret) and _HASH_QUALIFIER_RE.search(data, max(0, match_start - 16), match_start):
        return True
    if _SEARCH_ONLY_KEY_RE.search(data, max(0, match_start - 16), secret_start):
        return True
    if (_SEARCH_KEY_RE.search(data, max(0, match_start - 16), secret_start)
            and _ALGOLIA_RE.search(data, max(0, match_start - 300), secret_start)):
        return True
    if _NAMING_VALUE_RE.match(secret):
        return True
    line_start = data.rfind(b"\n", max(0, match_start - 400), match_start) + 1
    opened = data.rfind(b"{{", line_start, match_start)
    if opened >= 0 and data.find(b"}}", opened, match_start) < 0:
        return True  # the key is inside a template action (`{{ $password := .Values.x }}`): code, not a value
    if _DOCSEARCH_RE.search(data, max(0, match_start - 300), match_start):
        return True
    key_lo = max(0, match_start - 64)
    if _NAMING_KEY_RE.search(data, key_lo, secret_start) or _TYPE_PATH_RE.search(data, key_lo, secret_start):
        return True
    if _PUBLIC_NAME_RE.search(data, key_lo, match_start + 1):
        return True  # the match starts inside a public name (.NET's `publicKeyToken="31bf3856ad364e35"`)
    if secret.count(b" ") >= 3 and _is_prose(secret):
        return True
    if (_PATTERN_VALUE_RE.search(secret) or _OPTION_VALUE_RE.match(secret) or _VERSION_SPEC_RE.match(secret)
            or _TYPE_EXPR_RE.match(secret) or _NEXT_ASSIGNMENT_RE.match(secret)):
        return True
    if secret_start and data[secret_start - 1:secret_start + 1] == b"::":
        return True  # `token::getValue`: a scope or method reference, not `token: value`
    return _ARN_RE.search(data, lo, match_start) is not None


def _is_prose(secret: bytes) -> bool:
    words = secret.lower().strip(b".!?").split()
    return (len(words) >= 4 and len(_PROSE_WORDS.intersection(words)) >= 2
            and sum(w.strip(b".,;:()").isalpha() for w in words) * 4 >= len(words) * 3)


# A generic match whose value has a vendor's prefix: the vendor's rule, with its checksum, judges it. When
# that rule did not keep it (a failed checksum) and the file or the variable is named as a fake or a
# fixture, the generic rule does not report it either.
_VENDOR_PREFIX_RE = re.compile(rb"(?:gh[pousr]_|github_pat_|glpat-|glrt-|gldt-|glptt-|xox[abpsre]-|[sr]k_(?:live|test)_|npm_"
                               rb"|pypi-|dop_v1_|shp(?:at|ss|ca|pa)_|sk-(?:proj-|ant-)?|AKIA|ASIA|AIza|hf_|SG\.|dapi"
                               rb"|glc_|lin_api_|sntrys_|tfp_|pul-|dp\.(?:st|ct|pt)\.)")
_FIXTURE_NAME_RE = re.compile(rb"(?i)fake|fixture|mock|dummy|stub|sample|example|bogus|invalid|test")
_FIXTURE_PATH_RE = re.compile(r"(?i)fake|fixture|mock|dummy|stub|testdata|(?:^|/)tests?/|_test\.\w+$|(?:^|/)test_[^/]*$"
                              r"|\.(?:test|spec)\.\w+$")


def fixture_lookalike(match: Match, data: bytes, path: str | None) -> bool:
    """Whether a generic rule's match is a vendor-shaped stand-in: a value with a vendor prefix, in a
    file or under a name that says fake or fixture (its vendor rule, with the checksum, has had its say)."""
    if not _VENDOR_PREFIX_RE.match(match.secret):
        return False
    if path and _FIXTURE_PATH_RE.search(path):
        return True
    # The name may begin before the match (`FAKE_GITHUB_TOKEN = ...` matched from `N_TOKEN`): from the
    # start of the line, at most 80 bytes back.
    lo = max(data.rfind(b"\n", 0, match.start) + 1, match.match_start - 80, 0)
    return _FIXTURE_NAME_RE.search(data, lo, match.start) is not None


# A line longer than this (minified code, one-line JSON) is looked up in the buffer's marker index instead
# of being searched once per match on it.
_LONG_LINE = 4096


def inline_allowed(newlines: NewlineIndex, start: int, end: int) -> bool:
    """Whether an allow marker is on the line(s) of `data[start:end]`, or a `nextline` one just before."""
    # Searched in place: `marker in text` per marker cost a slice and ~2,500 instructions each (bytes'
    # `in` first tries the needle as an int), on every candidate match.
    data = newlines.data
    lo = _line_start(data, start)
    hi = data.find(b"\n", end, end + _LONG_LINE)
    if lo is None or (hi < 0 and end + _LONG_LINE < len(data)):
        return _marks(newlines).allows(start, end)
    if _ALLOW_RE.search(data, lo, len(data) if hi < 0 else hi):
        return True
    if lo == 0:
        return False
    prev = _line_start(data, lo - 1)
    if prev is None:
        return _marks(newlines).allows(start, end)
    return _ALLOW_NEXTLINE_RE.search(data, prev, lo) is not None


def _line_start(data: bytes, offset: int) -> int | None:
    """Where the line holding `offset` starts, or None when that is more than _LONG_LINE bytes back."""
    floor = max(0, offset - _LONG_LINE)
    nl = data.rfind(b"\n", floor, offset)
    return None if nl < 0 and floor > 0 else nl + 1


def _marks(newlines: NewlineIndex) -> _AllowMarks:
    marks = newlines.allow_marks
    if marks is None:
        marks = newlines.allow_marks = _AllowMarks(newlines)
    return marks  # type: ignore[return-value]


class _AllowMarks:
    """The lines of one buffer that carry an allow marker, found once per buffer with long lines.

    Searching each candidate's line for markers costs a pass over the line per match: on a minified file
    (one long line of many matches) the scan became quadratic. Here the buffer costs one search, a line
    number per marker, and each verdict a bisection.
    """

    __slots__ = ("_lines", "_newlines", "_nextline")

    def __init__(self, newlines: NewlineIndex) -> None:
        data = newlines.data
        self._newlines = newlines
        self._lines: list[int] = []
        self._nextline: frozenset[int] = frozenset()
        if _ALLOW_RE.search(data) is not None:  # markers never span lines: a line index per marker
            self._lines = sorted({newlines.line(m.start()) for m in _ALLOW_RE.finditer(data)})
        if _ALLOW_NEXTLINE_RE.search(data) is not None:
            self._nextline = frozenset(newlines.line(m.start()) for m in _ALLOW_NEXTLINE_RE.finditer(data))

    def allows(self, start: int, end: int) -> bool:
        if not self._lines and not self._nextline:
            return False
        first = self._newlines.line(start)
        if self._lines:
            last = self._newlines.line(end)
            i = bisect_left(self._lines, first)
            if i < len(self._lines) and self._lines[i] <= last:
                return True
        return first - 1 in self._nextline


def resolve_overlaps(matches: list[Match]) -> list[Match]:
    """One finding per secret. Specific rules rank before generic ones (and the `generic` family after
    other generic rules such as credential files, and rules gated on path contexts last: they fill the
    gaps others leave), then higher severity, then the
    wider match (more context: a service-account file over the bare key inside it). A generic match
    overlapping any kept match is dropped; two specific matches that mostly cover the same bytes (80% of
    the shorter) are one secret, reported once."""
    if len(matches) < 2:
        return sorted(matches, key=lambda m: (m.start, m.rule.id))
    ranked = sorted(matches, key=lambda m: (m.rule.generic, bool(m.rule.contexts), m.rule.family == "generic",
                                            -m.rule.severity.rank,
                                            -(m.end - m.start), m.rule.id))
    # Kept matches by start offset: only those starting within the longest kept match's length before
    # `m` can overlap it (comparing with every kept match was quadratic: minutes for a dump of 10k hashes).
    starts: list[int] = []
    kept: list[Match] = []
    longest = 0
    for m in ranked:
        duplicate = False
        for k in kept[bisect_left(starts, m.start - longest):bisect_left(starts, m.end)]:
            overlap = min(k.end, m.end) - max(k.start, m.start)
            if overlap <= 0:
                continue
            if m.rule.generic or overlap >= 0.8 * min(k.end - k.start, m.end - m.start):
                duplicate = True
                break
        if not duplicate:
            i = bisect_right(starts, m.start)
            starts.insert(i, m.start)
            kept.insert(i, m)
            longest = max(longest, m.end - m.start)
    return sorted(kept, key=lambda m: (m.start, m.rule.id))
