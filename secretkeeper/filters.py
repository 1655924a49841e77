"""Value filters: the false-positive controls a rule opts into with `filters = [...]`.

Each filter looks at the candidate secret (bytes) and the whole matched text, and returns True when the
candidate is *not* a credential (a placeholder, a reference to an environment variable, a hash...).
"""

from __future__ import annotations

import math
import re
from collections import _count_elements  # type: ignore[attr-defined]  # Counter's counting loop (C)
from collections.abc import Callable

from secretkeeper.secretwords import Use, alternation, words

Filter = Callable[[bytes, bytes], bool]

_PLACEHOLDER_WORDS = (
    b"changeme", b"change_me", b"change-me", b"changeit", b"replaceme", b"replace_me", b"replace-me",
    b"redacted", b"placeholder", b"your_", b"your-", b"yourpassword", b"yourtoken", b"yoursecret",
    b"example", b"dummy", b"fake_", b"fakefake", b"notarealsecret", b"not_a_real", b"not-a-real",
    b"insert_", b"insert-", b"put_your", b"put-your", b"enter_your", b"enter-your",
    b"secretkeeper:", b"<secret>", b"<password>", b"********", b"xxxxxxx", b"#####",
    b"....", b"...",
)
# Short words occur by chance inside random tokens (about 1% of 40-char base62 strings hold "tbd" or
# "todo" in some case): they count only as whole words.
_PLACEHOLDER_SHORT_RE = re.compile(rb"(?<![a-z0-9])(?:todo|tbd|fixme|dummy|here)(?![a-z0-9])")  # password_here
# A template or placeholder inside a longer value: `https://<public-key>@host/1`, `pre-${SUFFIX}`,
# `{{ .Values.x }}-x`, Octopus/Ruby `#{Name}`, markup (`Verification</strong>`). Random secrets do not hold
# `<word>`, `</word>` or `${NAME}`.
_EMBEDDED_TEMPLATE_RE = re.compile(rb"<[A-Za-z][\w -]{0,40}>|</[A-Za-z][\w-]{0,20}>|\{\{.{0,80}?\}\}|\$\{[A-Za-z_][\w.:-]{0,60}\}|\#\{[\w.]{1,60}\}"
                                   rb"|\$\([A-Za-z_][\w.]{0,60}\)"  # $(Pipeline.Variable), $(MAKE_VAR)
                                   rb"|\$\(\[[\w.]{1,80}\]::"  # PowerShell: "...$([System.IO.Path]::GetRandomFileName())"
                                   rb"|(?<![^._/:-])%[sd](?=$|[._/:%\s-])"  # a format string: "management.endpoint.%s.access"
                                   rb"|%\{[A-Za-z_][\w:.-]{0,60}\}"  # Apache, RPM, Ruby: %{HTTP:X-XSRF-Token}
                                   rb"|\{\{(?:$|[\s$.])")  # a template action cut at its first space: `write-{{`
# Credentials published as examples in vendor documentation and RFCs: the same strings in every repository.
_DOCUMENTED_EXAMPLES_RE = re.compile(
    rb"EXAMPLE|DONOTUSE|DO_NOT_USE"
    rb"|eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"  # jwt.io's token payload
    rb"|SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"  # ... and its signature
    rb"|QWxhZGRpbjpvcGVuIHNlc2FtZQ"  # RFC 7617 Basic auth: Aladdin:open sesame
    rb"|abcdef\.0123456789abcdef|07401b\.f395accd246ae52d"  # kubeadm's documented bootstrap tokens
    rb"|^foobared$"  # redis.conf's example requirepass
    rb"|^SW2YcwTIb9zpOOhoPsMm$"  # Grafana's default secret_key (defaults.ini)
    rb"|^vagrant$"  # Vagrant boxes' documented insecure default password
    rb"|sk_test_4eC39HqLyjWDarjtT1zdp7dc|pk_test_TYooMQauvdEDq54NiTphI7jx"  # Stripe's API reference keys
    rb"|ghp_16C7e42F292c6912E7710c838347Ae178B4a"  # GitHub's documentation token
    rb"|Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw"  # Azurite's account key
    rb"|C2y6yDjf5/R\+ob0N8A7Cgv30VRDJIWEHLM\+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw"  # Cosmos DB emulator's
    rb"|REPLACE_?WITH|(?i:replace[_-]with|your[_-](?:runner[_-]|api[_-]|access[_-])?(?:token|key|secret))"  # glrt-REPLACE_WITH_RUNNER_TOKEN
    rb"|[xX]{8}|0{8}|\*{6}"  # ghp_xxxxxxxx..., SG.xxxx, sk_test_...00000000: a token written as a pattern
    # (not any run: Dropbox and Twitter tokens and OpenSSH keys hold runs of `A` by format)
)
# One search, not `any(word in low ...)`: each `bytes in bytes` first tries the needle as an int and
# builds a TypeError (~2,500 instructions), so the 36 words cost ~90k per candidate secret.
_PLACEHOLDER_WORDS_RE = re.compile(b"|".join(re.escape(w) for w in _PLACEHOLDER_WORDS))
_PLACEHOLDER_EXACT = {
    b"password", b"passwd", b"secret", b"token", b"none", b"null", b"nil", b"undefined", b"true", b"false",
    b"string", b"str", b"empty", b"default", b"value", b"required", b"optional", b"pass", b"test", b"xxx",
    b"apikey", b"api_key", b"api-key", b"access_key", b"secret_key", b"key", b"bearer", b"basic",
}
_TEMPLATE_RE = re.compile(
    rb"""^(?:
        \$\{[^}]*\}? | \$\$?\([^)]*\)? | \$[A-Za-z_][A-Za-z0-9_]* | %\{[A-Za-z_][\w:.-]{0,60}\}[\]]? | \{\{.*\}\}? | \{\%.*\%\}? | \{[A-Za-z_.][\w.]*(?::[^{}\s]{1,60})?\}
        | <[^<>]{1,60}> | &lt;[^&<>]{1,60}&gt; | %\([^)]*\)[sd] | %[sd] | @[A-Za-z_][\w.]*@ | __[A-Za-z][A-Za-z0-9_.:-]*__ | \[[A-Z_ -]+\] | \[(?i:filtered|redacted|masked|hidden|removed|scrubbed)\]
        | \#\{[^}]*\}\#? | \$\$[A-Za-z_]\w* | \(\(.*\)\) | ENC\[.*\] | ENC\(.*\) | vault:.* | ref\+.* | arn:aws:secretsmanager:.*
        | %[A-Za-z_][\w.-]*% | @@[\w.-]+@@ | \#\{?[A-Z_][A-Z0-9_]*\}?\# | <%=?.*%>
        | \$__(?:env|file|vault)\{[^}]*\}     # Grafana's expansions
        | \#\{[^}]*                             # SpEL `#{systemEnvironment['X']}`, cut at its quote
        | @Microsoft\.KeyVault\(.*              # Azure App Service Key Vault reference
        | \[(?:parameters|variables|reference|concat|format|listKeys|last|first)\(.*  # ARM expression (cut at a quote)
    )$""",
    re.X | re.S,
)
# Maven (`mvn --encrypt-password`) and old Jenkins values: ciphertext whose key is kept elsewhere. Not
# Maven's own `<master>`: it is encrypted with a published constant, as good as clear text.
_BRACED_CIPHERTEXT_RE = re.compile(rb"^\{[A-Za-z0-9+/]{16,}={0,2}\}$")
# Test fixtures' stand-ins: `testpw`, `test1234`, `doesnotexist` (lower case and short, as written in tests),
# and the weak passwords fixtures are made of (`password123`, `admin1`): no scanner tells them from a real one.
_TEST_VALUE_RE = re.compile(rb"^test[a-z0-9_]{0,6}$|^(?:does)?not?_?exist(?:s|ent|ing)?$|^nonexist\w{0,6}$"
                            rb"|^(?i:password|passw0rd|p@ssw0rd|secret|admin|letmein|qwerty)[0-9]{0,6}[!.]?$"  # and the weakest
                            rb"|^(?:foo|bar|baz|qux|quux){1,3}[0-9]{0,3}$"  # metasyntactic: foobar, foo123
                            rb"|^hunter2$")  # the Internet's stock password: a stand-in in code, a weak leak in config
_REPEATED_RE = re.compile(rb"^(.)\1{3,}$|^(..)\2{3,}$")
_SEQUENCE = b"0123456789abcdefghijklmnopqrstuvwxyz"
_SEQUENCE_DOWN = _SEQUENCE[::-1]


def is_documented_example(secret: bytes) -> bool:
    """A credential as vendor documentation and RFCs print it (`AKIAIOSFODNN7EXAMPLE`, jwt.io's token,
    `ghp_xxxx...`): checked for every rule, vendor-specific ones included. Key blocks and other long
    values are not searched (they are no such token, and a search costs ~700 instructions a byte)."""
    return len(secret) <= 512 and _DOCUMENTED_EXAMPLES_RE.search(secret) is not None


def is_placeholder(secret: bytes, match: bytes = b"") -> bool:
    s = secret.strip().strip(b"\"'`")
    low = s.lower()
    if not s or low in _PLACEHOLDER_EXACT:
        return True
    if _TEMPLATE_RE.match(s) or _EMBEDDED_TEMPLATE_RE.search(s):
        return True
    if _BRACED_CIPHERTEXT_RE.match(s) and not match.startswith(b"<master>"):
        return True
    if _METAVARS_RE.match(s):
        return True
    if _PLACEHOLDER_WORDS_RE.search(low) or _PLACEHOLDER_SHORT_RE.search(low):
        return True
    if _REPEATED_RE.match(low) or _TEST_VALUE_RE.match(s):
        return True
    core = low.rstrip(b"0123456789")
    if len(core) >= 6 and (_SEQUENCE.find(core) >= 0 or _SEQUENCE_DOWN.find(core) >= 0):  # not `in`: see above
        return True
    return False


# Usage metavariables joined by separators, as help texts write them: `NS/NAME`, `HOST:PORT`, `KEY=VALUE`,
# `USER@HOST`: upper-case words only, each at least two letters, so a real value almost never has the shape.
_METAVARS_RE = re.compile(rb"^[A-Z][A-Z_]+(?:[/:=@.,-][A-Z][A-Z_]+)+$")


_ENV_REF_RE = re.compile(
    rb"""(?:os\.environ|os\.getenv|getenv\s*\(|process\.env|System\.getenv|ENV\[|ENV\.fetch|Environment\.
    GetEnvironmentVariable|env\(|\$ENV\{|%env\(|\benv\.|config\[|settings\.|secrets\.|vars\.|\{\{\s*secrets\.
    |Deno\.env|import\.meta\.env|viper\.Get|os\.Getenv|std::env::var|System\.Environment
    |^(?:env|fd|file|exec|urn:[A-Za-z0-9][\w-]{0,31}):|\$env:|\$_(?:POST|GET|REQUEST|ENV|SERVER|COOKIE|SESSION)\[
    |^\$\{?[A-Za-z_]\w*\}?[/:?\#.]|^[.+]\s*\$[A-Za-z_])""",
    re.X,
)


def is_env_reference(secret: bytes, match: bytes = b"") -> bool:
    """The value is read from somewhere (env var, config lookup, template), not written down."""
    return bool(_ENV_REF_RE.search(secret))


_UUID_RE = re.compile(rb"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_uuid(secret: bytes, _match: bytes = b"") -> bool:
    return bool(_UUID_RE.match(secret.strip()))


_HEX_HASH_RE = re.compile(rb"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9A-F]{40}|[0-9A-F]{64})$")
_HASH_KEY_RE = re.compile(rb"(?i)(sha|hash|digest|checksum|integrity|commit|revision|etag|fingerprint|md5|crc)")


def is_hash_context(secret: bytes, match: bytes = b"") -> bool:
    """A hex digest under a key that names a hash (`commit_sha = ...`, `integrity: ...`)."""
    s = secret.strip()
    if s.startswith((b"sha1-", b"sha256-", b"sha384-", b"sha512-", b"h1:", b"sha256:", b"sha512:")):
        return True
    key = match[: max(0, match.find(s))] if s in match else match
    return bool(_HEX_HASH_RE.match(s)) and bool(_HASH_KEY_RE.search(key))


def is_integrity_hash(secret: bytes, _match: bytes = b"") -> bool:
    s = secret.strip()
    return s.startswith((b"sha1-", b"sha256-", b"sha384-", b"sha512-", b"h1:", b"sha256:", b"sha512:", b"md5-"))


# Search-only keys are what Algolia gives browsers (`ALGOLIA_SEARCH_KEY`, `searchOnlyApiKey`); a search
# key of another service is not (`AZURE_SEARCH_KEY` is an admin key; policy.py reads Algolia's nested keys).
_PUBLIC_KEY_NAME_RE = re.compile(rb"(?i)public|\bpub(_|-)?key|search[_.-]?only[_.-]?(?:api[_.-]?)?key"
                                 rb"|algolia[\w.-]{0,20}search[_.-]?(?:api[_.-]?)?key"
                                 rb"|(?<![a-z])site[_.-]?key")  # a CAPTCHA's site key (reCAPTCHA, hCaptcha, Turnstile): the page's
# Client-side tokens vendors publish as safe to ship: Mapbox public tokens, Stripe publishable keys, a
# Sentry DSN's public key (its legacy secret part, `key:secret@`, is not public).
_PUBLISHABLE_RE = re.compile(rb"^(?:pk\.eyJ|pk_(?:live|test)_|https?://[0-9a-f]{32}@[\w.-]*sentry[\w.-]*(?::\d+)?/\d+$)")


def is_public_material(secret: bytes, match: bytes = b"") -> bool:
    s = secret.strip()
    if s.startswith((b"ssh-rsa ", b"ssh-ed25519 ", b"ecdsa-sha2-", b"ssh-dss ", b"sk-ssh-", b"sk-ecdsa-")):
        return True
    if b"-----BEGIN CERTIFICATE" in s or b"-----BEGIN PUBLIC KEY" in s or b"PUBLIC KEY BLOCK" in s:
        return True
    if _PUBLISHABLE_RE.match(s):
        return True
    key = match[: match.find(s)] if s and s in match else b""
    return bool(_PUBLIC_KEY_NAME_RE.search(key))


def is_data_uri(secret: bytes, _match: bytes = b"") -> bool:
    return secret.strip().startswith(b"data:")


# One identifier segment as code writes it: snake_case, CONSTANT, Word, camelCase (not random mixed case).
_SEG = rb"(?:[a-z_][a-z0-9_]*|[A-Z][A-Z0-9_]*|[A-Z]?[a-z]+(?:[A-Z][a-z]+|[0-9]{1,2})*|_*[a-z]+(?:[A-Z][a-z0-9]*)+)"
_PATH = rb"[$@]?" + _SEG + rb"(?:(?:\.|::|->|\?\.)" + _SEG + rb")*"
# A call or subscript: `get_password()`, `kwargs.get(` (cut at a quote), `request.form[`, `env!(`.
# Any identifier may be called, acronyms included (`HTTPPasswordMgr()`, `GraphqlAPIKey(`, `MLDSA44Ed25519PrivateKey(`).
# TypeScript's optional chaining and non-null assertions too: `tokens?.[0]`, `adapter!.createToken?.(`.
_CALLEE = rb"(?:[A-Za-z_][A-Za-z0-9_]*(?:(?:\.|::|->|\?\.|!\.)[A-Za-z_][A-Za-z0-9_]*)*)"
_CALL_RE = re.compile(rb"^(?:new\s+|await\s+)?[$@]?" + _CALLEE + rb"!?(?:\?\.)?[(\[]")
# A composite literal of a named type (Go's `corev1.Secret{`, `configuration.Parameters{`, `failSigner{}`).
_COMPOSITE_RE = re.compile(rb"^&?" + _CALLEE + rb"\{")
_DOTTED_RE = re.compile(rb"^" + _PATH + rb"(?:\.|::|->|\?\.)" + _SEG + rb"[);,\]}]*$")
_IDENT_RE = re.compile(rb"^[A-Za-z_][A-Za-z_]*[0-9]{0,2}$")
# A method called on any name (`V1SecretVolumeSource.from_dict(`): the call shape alone says code.
_METHOD_CALL_RE = re.compile(rb"^[A-Za-z_][A-Za-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+[(\[]")
_KEYWORDISH_RE = re.compile(alternation(Use.VARIABLE).encode(), re.IGNORECASE)


_MODULE_ATTR_RE = re.compile(rb"^[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*\.[A-Za-z0-9_]*[A-Z][a-z]{2,}[A-Za-z0-9_]*[);,]?$")
_LOWER_IDENT_RE = re.compile(rb"^[a-z_][a-z0-9_]*$")
_FIELD_COLON_RE = re.compile(rb"(?:^|[\s{(,])[A-Z][A-Za-z]*:[ \t]*\Z")
_TAG_OR_POINTER_RE = re.compile(rb"^[!&*@]{1,2}[A-Za-z_][\w]*$")
_KV_LIST_RE = re.compile(rb"^[a-z][a-z_-]*=[^,=\s]+(?:,[a-z][a-z_-]*=[^,=\s]+)+$"
                         rb"|^[a-z]{2,10}=(?:[a-z_][a-z0-9_.-]*|[A-Z_][A-Z0-9_]*)$")
# A cmdlet name (approved verbs): what PowerShell assigns from, not a value.
_CMDLET_RE = re.compile(rb"^(?:Get|Set|Read|New|Import|Export|ConvertTo|ConvertFrom|Invoke|Select|Out|Write|Join|Split|"
                        rb"Resolve|Test|Find|Request|Unprotect|Protect|Convert|Add|Remove|Format|Start|Stop|Update|Copy|"
                        rb"Merge|Expand|Compress|Search|Send|Receive|Register|Install|Enable|Disable|Initialize|"
                        rb"Measure|Compare|Group|Sort|Where|ForEach|Use|Wait|Show|Clear|Rename|Move|Open|Close|Save|"
                        rb"Restore|Sync|Publish|Edit|Grant|Revoke|Unblock|Block|Connect|Disconnect|Mount|Dismount)"
                        rb"-[A-Z][A-Za-z0-9]{2,60}$")
_SNAKE_IDENT_RE = re.compile(rb"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
_CALL_CHAIN_RE = re.compile(rb"^[A-Za-z_][A-Za-z0-9_]*\)+\.[A-Za-z_][A-Za-z0-9_]*[(\[]")
_CAMEL_NAME_RE = re.compile(rb"^[a-z]+(?:[A-Z][a-z]+)+$|^[A-Z][a-z]+(?:[A-Z][a-z]+)+$")


def _field_initialised_from(s: bytes, match: bytes) -> bool:
    """Whether `match` ends with `Field: s` (`$`'s end: the very end, or before a final newline).

    Searched in place, not by a regex built around `s` (compiled anew for every candidate: ~100k
    instructions, and each took a slot of `re`'s cache that inline patterns elsewhere rely on)."""
    n = len(match)
    for end in (n, n - 1) if match.endswith(b"\n") else (n,):
        if match.endswith(s, 0, end) and _FIELD_COLON_RE.search(match, 0, end - len(s)):
            return True
    return False


def _quoted_in_match(secret: bytes, match: bytes) -> bool:
    i = match.find(secret) if secret else -1
    return i > 0 and match[i - 1 : i] in (b'"', b"'", b"`")


def is_code_expression(secret: bytes, match: bytes = b"") -> bool:
    """Unquoted identifiers and calls (`password = get_password()`, `token = self.token`, `SecretStr`).

    A value written between quotes in the match is a literal, never code.
    """
    s = secret.strip()
    if not s or s[:1] in b"\"'`" or _quoted_in_match(s, match):
        return False
    core = s.rstrip(b");,]}")
    if _CALL_RE.match(s) or _DOTTED_RE.match(s) or _METHOD_CALL_RE.match(s) or _COMPOSITE_RE.match(s):
        return True
    if _MODULE_ATTR_RE.match(s):
        return True  # module.attribute: rust_openssl.hpke.MLKEM768X25519PrivateKey
    if _LOWER_IDENT_RE.match(s) and _field_initialised_from(s, match):
        return True  # `Password: invoice` - a Go/C#/Swift field initialised from a variable
    if _KV_LIST_RE.match(s):
        return True  # `id=npm_token,env=NPM_TOKEN`: an option's settings (docker build --secret), not a value
    if s.startswith((b"@{", b"@(")):
        return True  # PowerShell: a hashtable or an array (`password = @{type = "str"; no_log = $true}`)
    if _CALL_CHAIN_RE.match(s):
        return True  # `NoTokenSentinel).get()`: an argument, then a method called on what it built
    if s.startswith((b"new ", b"await ", b"this.", b"self.")) or _TAG_OR_POINTER_RE.match(s):
        return True  # YAML tags/anchors/aliases (`!vault`, `*pw`), pointers, instance variables
    if _CMDLET_RE.match(core):
        return True  # PowerShell: `$pw = Read-Host -AsSecureString`, `Get-Content .\\pw.txt`
    if _SNAKE_IDENT_RE.match(core):
        return True  # `hashed_password=argon2_hash`: a snake_case name, digits and all
    if _IDENT_RE.match(core):
        letters = core.rstrip(b"0123456789")
        if b"_" in letters.strip(b"_") or (letters.isupper() and len(letters) > 3):
            return True  # snake_case / CONSTANT_NAME references
        if _CAMEL_NAME_RE.match(letters):
            return True  # camelCase / CamelCase names (dbPassword, SecretStr)
        if _KEYWORDISH_RE.search(letters):
            return True  # mypassword, apikey: a variable named after the thing
    return False


_PLAIN_URL_RE = re.compile(rb"^[a-z][a-z0-9+.-]*://[^@/\s]+(/|$)")


def is_path_or_url_only(secret: bytes, _match: bytes = b"") -> bool:
    """A file path or a plain URL without credentials, e.g. `password_file: /run/secrets/db`,
    `private-key: "classpath:server.key"`."""
    s = secret.strip()
    if s.startswith((b"/", b"./", b"../", b"~/", b"file:", b"classpath:", b"classpath*:", b"resource:")) and b" " not in s:
        return True  # `classpath:`, `resource:`: where Spring and others load a key file from
    if _RELATIVE_FILE_RE.match(s):
        return True  # `S3Key: "ci/beanstalk/app-626-1313.war"`: an object or file path, relative
    return bool(_PLAIN_URL_RE.match(s)) and b"@" not in s


# A relative path to a file of a common kind: segments, then a name with its extension.
_RELATIVE_FILE_RE = re.compile(rb"^[\w.-]+(?:/[\w.-]+)*/[\w.-]+\.(?:war|jar|ear|zip|tar|gz|tgz|bz2|xz|7z|json|ya?ml|xml|"
                               rb"toml|ini|cfg|conf|properties|txt|csv|tsv|log|md|html?|css|js|mjs|ts|tsx|py|rb|go|java|"
                               rb"php|sh|sql|png|jpe?g|gif|svg|ico|webp|pdf|whl|deb|rpm|exe|dll|so|dylib|bin|img|iso|"
                               rb"mp[34]|wav|pem|crt|cer|der|p12|pfx|jks|keystore|key|pub|gpg|asc)$")


_NON_SECRET_WORDS = frozenset(
    b"""hidden masked mask redacted required optional disabled enabled enable disable none nil null auto
    prompt ask input sensitive secure encrypted encrypt decrypt plain plaintext cleartext md5 sha1 sha256 sha512
    scram-sha-256 trust peer ident reject bcrypt argon2 argon2id pbkdf2 yes no on off env file files vault
    keyring random generated generate unset empty omitted blank hashed hash string text integer boolean bool
    number int long char bytes buffer secretstr secretbytes password passwd passwords secret secrets token
    tokens credential credentials apikey api_key undefined unknown invalid missing default defaults test
    testing tests demo sample samples mock mocked stub dummy fake changeit admin username user login
    anonymous guest public private internal external local localhost system root readonly readwrite
    oauth oauth2 basic bearer digest ntlm kerberos ldap saml jwt session cookie header headers query body
    form field fields object array list dict map value values type types label title name names
    asterisk stars dots bullet bullets forgot reset change confirm confirmed verify verified expired
    incorrect wrong weak strong show hide visible invisible toggle
    await async function lambda yield return typeof this self
    base64 base64url hex utf8 utf-8 utf16le ucs2 ascii latin1 binary""".split()  # code keywords before a call; encodings: Buffer.from("accountKey", "base64")
)
_CAMEL_RUN_RE = re.compile(rb"[A-Z][a-z]{2,}")
_CRED_WORDS = frozenset(word.title().encode() for word in words(Use.TYPE))
_TITLE_WORD_RE = re.compile(rb"^[A-Z][a-z]{2,}[.:!?]?$|^[A-Z]{2,}[a-z]*$|^[a-z]+[.:!?]$")
_CONSTANT_NAME_RE = re.compile(rb"^[A-Z]+(?:_[A-Z]+)+$")
_LETTERS_RE = re.compile(rb"^[A-Za-z][A-Za-z_.-]*$")
_WORD_KEY_RE = re.compile(alternation(Use.VARIABLE | Use.LABEL).encode(), re.IGNORECASE)
_ALNUM_RE = re.compile(rb"[A-Za-z0-9]+")
_LETTER_NAME_RE = re.compile(rb"^[A-Za-z][a-z]+(?:[A-Z][a-z]+)+$|^[a-z]+(?:[_.-][a-z]+)+$")


def is_word(secret: bytes, _match: bytes = b"") -> bool:
    """A label or a name, not a credential: `Password`, `Passwort`, `hidden`, `dbPasswordInput`.

    Only letters (no digit, no symbol): a known non-secret word, a capitalised word (i18n labels), or a
    letters-only name built around a credential word (`mypassword`, `user-password`, `secretKey`).
    """
    s = secret.strip().rstrip(b")]};:,")  # `newPassword: String!):` - the code around a type name
    if s[:1] in (b"#", b".") and _LETTER_NAME_RE.match(s[1:]):
        return True  # a CSS selector or element id: `this.addPassword = "#add-password"`
    if _CONSTANT_NAME_RE.match(s):
        return True  # `YOUR_API_KEY`, `HIDDEN_DUE_TO_SECURITY_REASONS`: a name or a marker, in capitals
    low = s.lower()
    if low in _NON_SECRET_WORDS or low.strip(b".:!?") in _NON_SECRET_WORDS:
        return True
    runs = _CAMEL_RUN_RE.findall(s)
    if (len(runs) >= 2 and _ALNUM_RE.fullmatch(s) and sum(map(len, runs)) * 10 >= len(s) * 6
            and any(r in _CRED_WORDS for r in runs)):
        return True  # a type or class name: V1SecretVolumeSource, PKCS7PrivateKeyTypes
    if not _LETTERS_RE.match(s):
        return False
    if _TITLE_WORD_RE.match(s):
        return True
    if _WORD_KEY_RE.search(s):
        return True
    # camelCase / PascalCase / snake_case / kebab-case names made only of letters (`ConfigMap`, a kind)
    return bool(_LETTER_NAME_RE.match(s))


_NUMERIC_RE = re.compile(rb"^[+-]?[0-9][0-9_.,:/ -]*[0-9]?[a-zA-Z]{0,2}$")


def is_numeric(secret: bytes, _match: bytes = b"") -> bool:
    """Numbers, versions, dates, ports, sizes (`123456`, `1.2.3`, `2024-01-01`, `8080`, `30s`)."""
    s = secret.strip().rstrip(b")]},;")
    return bool(_NUMERIC_RE.match(s)) and (len(s) - len(s.translate(None, b"0123456789"))) * 2 >= len(s)  # digits


# Segments in snake_case or camelCase: `app.settings.secret`, a field path such as `spec.encryptedData`.
_DOTTED_NAME_RE = re.compile(rb"^\.?[a-z_][a-z0-9_]*(?:[A-Z][a-z]+)*(?:\.[a-z_][a-z0-9_]*(?:[A-Z][a-z]+)*)+$"
                             rb"|^\.[a-z_][a-z0-9_]*$")
_RESOURCE_PREFIX_RE = re.compile(rb"^(?:projects|arn|secret|secrets|kv)[:/]")
# `signing-key:private_key`, `io.x-k8s.kind.cluster` (a segment may end in a short word after its digits: k8s,
# ec2), `resume-token-1000` (a number last)
_SLUG_RE = re.compile(rb"^[a-z]+[0-9]{0,3}(?:[-_./:][a-z]+[0-9]{0,3}(?:[a-z]{1,2}(?![a-z]))?){1,12}(?:[-_.][0-9]{1,12})?$")


def is_resource_name(secret: bytes, _match: bytes = b"") -> bool:
    """A resource name rather than a key: `my-app-secret`, `prod/db/api_key`, `projects.secret.v2`."""
    s = secret.strip()
    if _DOTTED_NAME_RE.match(s):
        return True  # a dotted module or settings path: .models.v1_secret, app.settings.secret, .v1_secret
    return bool(_SLUG_RE.match(s)) or bool(_RESOURCE_PREFIX_RE.match(s))


FILTERS: dict[str, Filter] = {
    "placeholder": is_placeholder,
    "env-ref": is_env_reference,
    "uuid": is_uuid,
    "hash": is_hash_context,
    "integrity": is_integrity_hash,
    "public": is_public_material,
    "data-uri": is_data_uri,
    "code": is_code_expression,
    "path": is_path_or_url_only,
    "word": is_word,
    "numeric": is_numeric,
    "name": is_resource_name,
}


def shannon_entropy(data: bytes) -> float:
    """Bits per byte: log2(n) - sum(c * log2(c)) / n over the byte counts c, with c * log2(c) looked up
    (a candidate secret is short; this runs for most candidates, tens of thousands in a large tree)."""
    if not data:
        return 0.0
    n = len(data)
    counts: dict[int, int] = {}
    _count_elements(counts, data)  # what Counter(data) does, without its Python-level set-up (~8k)
    total = sum(map(_C_LOG_C.__getitem__, counts.values())) if n < len(_C_LOG_C) else \
        sum(c * math.log2(c) for c in counts.values())
    return max(0.0, math.log2(n) - total / n)


_C_LOG_C = [0.0] + [c * math.log2(c) for c in range(1, 257)]  # candidates are short; longer ones use math


# Path contexts: where a value sits decides how weak it may be and still be a leak. A credential file
# (recognised by name) holds nothing but credentials; configuration holds real ones beside settings; an
# example file holds stand-ins by name; source code and tests hold fixtures.
CREDENTIAL_FILE, CONFIG, EXAMPLE, SOURCE = "credential-file", "config", "example", "source"
PATH_CONTEXTS = (CREDENTIAL_FILE, CONFIG, EXAMPLE, SOURCE)
_EXAMPLE_PATH_RE = re.compile(r"(?i)[._-](?:example|examples|sample|samples|template|tmpl|dist)"
                              r"(?:\.[\w]{1,8})?$")
CREDENTIAL_FILE_PATH = (
    r"(?i)(?:^|/)(?:[._]?pgpass(?:\.conf)?|[._]?netrc|\.git-credentials|\.esmtprc|\.msmtprc|\.fetchmailrc|\.my\.cnf"
    r"|\.mylogin\.cnf|\.?htpasswd[^/]*|\.s3cfg|\.boto|\.pypirc|\.npmrc|\.vault-token|\.dockercfg"
    r"|sitemanager\.xml|recentservers\.xml|filezilla\.xml|winscp\.ini|credentials-config\.json"
    r"|(?:\.?dbeaver-)?data-sources\.(?:json|xml)|robomongo\.json|robo3t\.json|robo3t[^/]*\.json|sftp-config\.json|\.remote-sync\.json"
    r"|\.ftpconfig|ftp-?sync\.json|deployment\.xml|webservers\.xml|logins\.json|signons\.sqlite|auth\.json"
    r"|credentials(?:\.json|\.ya?ml|\.xml|\.ini|\.txt)?|[\w.-]*kubeconfig[\w.-]*|rclone\.conf|ipsec\.secrets|sasl_passwd"
    r"|\.smbcredentials|\.cifs(?:creds|credentials)?|[\w.-]*\.(?:pgpass|netrc|credentials|creds))$"
    r"|(?:^|/)\.(?:aws|kube|docker|azure|s3cmd|gem|config/gcloud)/(?:credentials|config|config\.json)$")
_CREDENTIAL_FILE_RE = re.compile(CREDENTIAL_FILE_PATH)
_TEST_PATH_RE = re.compile(r"(?i)(?:^|/)(?:tests?|testing|testdata|test-?data|fixtures?|spec|specs|__tests__|__mocks__"
                           r"|mocks?|locales?|i18n|l10n|lang|translations?)/|(?:^|/)(?:test_|tests?\.)[^/]*$"
                           r"|_test\.[^/]*$|\.(?:spec|test)\.[^/]*$")
# _TEST_PATH_RE in two parts for path_context: the directory names (looked up, lower-cased) and the file name.
_TEST_DIRS = frozenset(("test", "tests", "testing", "testdata", "test-data", "fixture", "fixtures", "spec", "specs",
                        "__tests__", "__mocks__", "mock", "mocks", "locale", "locales", "i18n", "l10n", "lang",
                        "translation", "translations"))
_TEST_NAME_RE = re.compile(r"(?i)^(?:test_|tests?\.)|_test\.[^/]*$|\.(?:spec|test)\.[^/]*$")
# CREDENTIAL_FILE_PATH without its `(?:^|/)` anchors: matched (not searched) at component starts.
_CREDENTIAL_AT_RE = re.compile(CREDENTIAL_FILE_PATH.replace("(?:^|/)", ""))
_CONFIG_PATH_RE = re.compile(
    r"(?i)(?:^|/)\.env(?:\.[\w.-]+)?$|\.env$|\.(?:properties|ini|cfg|conf|cnf|config|cf|toml|ya?ml|json|xml|plist"
    r"|tfvars|hcl|neon)$|(?:^|/)(?:[\w-]*config[\w.-]*|settings|wp-config[\w.-]*|database|parameters)\.(?:php|inc)$"
    r"|(?:^|/)local_settings\.py$|(?:^|/)\.[\w-]+rc$|(?:^|/)\.(?:bash_profile|bash_login|profile|zprofile|zshenv|zlogin)$"
    r"|(?:^|/)config$"
    # a header named for the secrets it holds (Arduino's arduino_secrets.h), Elixir's prod.secret.exs
    r"|(?:^|/)(?:arduino_)?secrets?\.(?:h|hpp)$|(?:^|/)[\w-]+\.secrets?\.exs$"
    r"|(?:^|/)(?:Jenkinsfile|Dockerfile|Containerfile)(?:\.[\w-]+)?$|\.dockerfile$")  # build and deploy definitions


def _credential_file(path: str) -> bool:
    """`_CREDENTIAL_FILE_RE.search(path)`, tried only where it can match: at the start of one of the last
    three components (its names span at most three: `.config/gcloud/credentials`)."""
    end = len(path)
    for _ in range(3):
        slash = path.rfind("/", 0, end)
        if _CREDENTIAL_AT_RE.match(path, slash + 1):
            return True
        if slash < 0:
            return False
        end = slash
    return False


def path_context(path: str | None) -> str:
    """The context of the file at `path` (see PATH_CONTEXTS), from its name alone."""
    if not path:
        return SOURCE
    # Each pattern tried only where it can match (the same verdicts): the example and config patterns
    # hold no `/` and end at the end, so in the file name; the credential-file names at the last three
    # component starts; test directories looked up by name. A regex search tries every start position:
    # over whole paths these were ~3% of a files scan (asked for most files with a match).
    name = path[path.rfind("/") + 1:]
    if _EXAMPLE_PATH_RE.search(name):
        return EXAMPLE
    if _credential_file(path):
        return CREDENTIAL_FILE
    if _TEST_NAME_RE.search(name) or (len(name) < len(path) and any(
            d.lower() in _TEST_DIRS for d in path[:len(path) - len(name) - 1].split("/"))):
        return SOURCE  # fixtures, whatever their format: today's filters
    return CONFIG if _CONFIG_PATH_RE.search(name) else SOURCE


# The few values that only name a field (`password: password`, `SECRET=changeme`), and the values that
# are no value at all: booleans, nulls, YAML block markers; Windows setup's configuration passes
# (unattend.xml `<settings pass="oobeSystem">`).
_FIELD_WORDS = frozenset(
    b"""password passwd passphrase secret secrets token apikey api_key api-key key changeme change_me
    change-me changeit example examples sample empty none null nil undefined true false yes no on off required
    windowspe offlineservicing generalize specialize auditsystem audituser oobesystem
    optional string redacted hidden masked default value your_password yourpassword mypassword xxx todo tbd
    fixme replaceme placeholder secretkey secret_key client_secret access_token auth_token""".split())
_NO_VALUE_RE = re.compile(rb"^(?:-|[{}%]+|\[|[|>][+-]?[0-9]?|\{\}|\[\]|x{3,}|X{3,}|\*{3,}|\.{3,}|[<\[(]?(?:your|enter|insert|put)[\w -]*[>\])]?|"
                          rb"&lt;[^&]{0,60}(?:&gt;?)?|&(?:lt|quot|apos|\#x?[0-9a-f]{1,4})|~|[|>][+-]?)$", re.I)
_YAML_TAG_RE = re.compile(rb"^!(?:vault|Ref|Sub|GetAtt|ImportValue|Join|Select|FindInMap|Base64|If|env|include|secret|"
                          rb"encrypted|reference|ssm|kms)\b")
_LOWER_DOTTED_RE = re.compile(rb"^[a-z_]+(?:\.[a-z_]+){1,8}$")
_VARIABLE_RE = re.compile(rb"^\$\{?[A-Za-z_][\w.]*\}?|^%[A-Za-z_]\w*%|^\{\{|^@[A-Za-z_][\w.]*@$")


_LITERALS = frozenset((b"true", b"false", b"null", b"nil", b"none", b"~"))


def is_template(secret: bytes, match: bytes = b"") -> bool:
    """A template expression, a reference to another variable, or no value at all (empty, a YAML block
    marker or tag, `<your-password>`, `xxxx`): the only thing a value in a credential file may be
    without being a credential. Weak values (`admin123`, `testpass`, even `password`) pass: committed,
    they are leaks (marked `weak`)."""
    s = secret.strip().strip(b"\"'`").rstrip(b";,")
    if not s or _NO_VALUE_RE.match(s) or _YAML_TAG_RE.match(s):
        return True
    if len(s) <= 5 and s.lower() in _LITERALS:
        return True  # `"promptForPass": false`, `save-password="true"`: a flag or a null, never a password
    if _TEMPLATE_RE.match(s) or _EMBEDDED_TEMPLATE_RE.search(s) or _VARIABLE_RE.match(s):
        return True  # `$REACT_APP_URL/forgot`: built from another variable
    if not _quoted_in_match(s, match) and (_CALL_RE.match(s) or _LOWER_DOTTED_RE.match(s)):
        return True  # `password: config.db.password`, `getPassword()` in a config.js
    return _BRACED_CIPHERTEXT_RE.match(s) is not None


# Stand-ins that say what to put there: REPLACE_ME, change-it, YOUR_API_KEY, token_here.
_FIELD_PLACEHOLDER_RE = re.compile(rb"^(?:(?:replace|change|insert|enter|put|fill|set)[_-]?(?:me|it|here|in|this|value)"
                                   rb"|your[_-][\w-]+|[\w-]+[_-]here|todo|tbd|fixme)$")


def is_field_word(secret: bytes, _match: bytes = b"") -> bool:
    """One of the few words that only name the field (`password: password`, `SECRET=changeme`), a boolean
    or null: in configuration, where a weak value is otherwise a finding."""
    low = secret.strip().strip(b"\"'`").rstrip(b";,").lower().rstrip(b".:!?")
    return low in _FIELD_WORDS or _FIELD_PLACEHOLDER_RE.match(low) is not None


# A word with a few digits and a symbol after it (`football754`, `Summer2024!`): how people pick passwords.
_DICTIONARY_SHAPE_RE = re.compile(rb"^[A-Za-z][a-z]{2,14}[0-9]{0,4}[!@#$.?*]{0,2}$")


def is_weak(secret: bytes) -> bool:
    """A value a fixture could be made of (what the placeholder and word filters drop in source code):
    reported in credential and configuration files, and marked weak there (worse, not better)."""
    s = secret.strip()
    if len(s) > 200:
        return False  # keys and certificates
    if len(s) < 8 or is_placeholder(s) or is_word(s) or is_numeric(s) or _DICTIONARY_SHAPE_RE.match(s):
        return True
    return shannon_entropy(s) < 2.5


FILTERS["template"] = is_template
FILTERS["field-word"] = is_field_word
