"""Private-key validators: PEM blocks (PKCS#1, SEC1, DSA, PKCS#8, encrypted), OpenSSH, PGP, PuTTY, age.

A candidate is a key only if its body decodes to the structure its header promises: DER that
`cryptography` loads when the block is complete, an `openssh-key-v1` blob, a PGP secret-key packet
with a matching CRC-24, PuTTY private lines, a bech32 checksum. Documentation snippets (`MIIE...`,
`<your key>`), public keys and certificates fail. Blocks embedded in JSON/YAML/code as one line with
literal `\\n` escapes, quoted and concatenated lines, and comment prefixes are unwrapped first.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct

from secretkeeper.filters import shannon_entropy
from secretkeeper.validators.register import validator

_ESCAPED_NL = re.compile(rb"(?:\\+r)?\\+n|\\+r")
_QUOTED = re.compile(rb'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|`([^`]*)`')
_B64_BODY = re.compile(rb"[A-Za-z0-9+/]+={0,2}")
_MIN_BODY = 60  # base64 characters: an Ed25519 PKCS#8 key is 64


def _unwrap_lines(text: bytes) -> list[bytes]:
    """Logical lines of a block as written in a file, a JSON/YAML string, or code."""
    text = text.replace(b"\\/", b"/")
    out: list[bytes] = []
    for raw in text.splitlines():
        parts = _QUOTED.findall(raw)
        if parts:
            line = b"".join(a or b or c for a, b, c in parts)
        else:
            line = raw
        for piece in _ESCAPED_NL.split(line):
            piece = piece.strip().lstrip(b"#*;>|`\"' \t").rstrip(b"\\,;`\"' \t")
            if len(piece) >= 4 or piece.isalnum():  # drop leftover operators: `' +`, `" .`, `),`
                out.append(piece)
    return out


def _pem(block: bytes) -> tuple[bytes, dict[bytes, bytes], bytes] | None:
    """(label, headers, base64 body) of the first PEM private-key block in `block`."""
    m = re.search(rb"-----BEGIN ([A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?)-----", block)
    if not m:
        return None
    label = m.group(1)
    end = block.find(b"-----END " + label + b"-----", m.end())
    if end < 0:
        return None
    headers: dict[bytes, bytes] = {}
    body: list[bytes] = []
    for line in _unwrap_lines(block[m.end():end]):
        if b":" in line and not body:
            key, _, value = line.partition(b":")
            headers[key.strip()] = value.strip()
            continue
        body.append(line)
    return label, headers, b"".join(body)


def _decode(body: bytes) -> bytes | None:
    if len(body) < _MIN_BODY or not _B64_BODY.fullmatch(body) or len(set(body)) <= 16:
        return None
    try:
        return base64.b64decode(body + b"=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _der_total(der: bytes) -> int | None:
    """Length of the outer DER SEQUENCE (header included), or None if `der` does not start with one."""
    if len(der) < 2 or der[0] != 0x30:
        return None
    first = der[1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    if n == 0 or n > 4 or len(der) < 2 + n:
        return None
    return 2 + n + int.from_bytes(der[2 : 2 + n], "big")


def _der_private_key(der: bytes, encrypted_pkcs8: bool) -> bool:
    total = _der_total(der)
    hdr = 2 + (der[1] & 0x7F if len(der) > 1 and der[1] & 0x80 else 0)
    if total is None or len(der) <= hdr:
        return False
    inner_tag = der[hdr]
    if encrypted_pkcs8:
        return inner_tag == 0x30  # EncryptedPrivateKeyInfo starts with an AlgorithmIdentifier
    if inner_tag != 0x02:  # version INTEGER (PKCS#1, SEC1, DSA, PKCS#8)
        return False
    if len(der) < total:
        return True  # truncated but real-looking: still a leak of key material
    try:
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.serialization import load_der_private_key
    except ImportError:  # pragma: no cover - cryptography is a dependency
        return True
    try:
        load_der_private_key(der[:total], password=None, unsafe_skip_rsa_key_validation=True)
    except UnsupportedAlgorithm:
        return True
    except (ValueError, TypeError):
        # Key-shaped but not loadable (damaged, or a generator's stand-in): exactly one DER SEQUENCE
        # whose version is 0 or 1 is still reported, as a truncated one is. Text that merely decodes
        # as base64 has no such header.
        return len(der) == total and der[hdr:hdr + 2] == b"\x02\x01" and der[hdr + 2:hdr + 3] in (b"\x00", b"\x01")
    return True


@validator("private-key")
def private_key(secret: bytes, match: bytes) -> bool:
    """A PEM private key (PKCS#1, SEC1, DSA, PKCS#8 or encrypted PKCS#8) whose body is that structure.

    Legacy encrypted PEM (`Proc-Type: 4,ENCRYPTED`) only needs a cipher-sized body; a complete
    unencrypted block must load with `cryptography`.
    """
    parts = _pem(secret) or _pem(match)
    if parts is None:
        return False
    label, headers, body = parts
    der = _decode(body)
    if der is None:
        return False
    if b"ENCRYPTED" in headers.get(b"Proc-Type", b""):
        return b"DEK-Info" in headers and len(der) % 8 == 0
    if _der_private_key(der, encrypted_pkcs8=label.startswith(b"ENCRYPTED")):
        return True
    # Not DER at all, but a complete block of key-sized random base64 (a generator's stand-in, or a key
    # mangled in transit): every peer reports it, and it reads as a key to anyone who finds it.
    return len(body) >= _RANDOM_BODY and shannon_entropy(body) >= 5.0 and (der[:1] != b"\x30" or _der_total(der) is None)


_RANDOM_BODY = 120  # base64 characters: an EC P-256 key is ~160


def _ssh_string(blob: bytes, offset: int) -> tuple[bytes, int] | None:
    if offset + 4 > len(blob):
        return None
    (n,) = struct.unpack(">I", blob[offset : offset + 4])
    if offset + 4 + n > len(blob):
        return None
    return blob[offset + 4 : offset + 4 + n], offset + 4 + n


def _openssh_cipher(secret: bytes, match: bytes) -> bytes | None:
    parts = _pem(secret) or _pem(match)
    if parts is None or parts[0] != b"OPENSSH PRIVATE KEY":
        return None
    blob = _decode(parts[2])
    magic = b"openssh-key-v1\x00"
    if blob is None or not blob.startswith(magic):
        return None
    cipher = _ssh_string(blob, len(magic))
    return cipher[0] if cipher else None


@validator("openssh-private-key")
def openssh_private_key(secret: bytes, match: bytes) -> bool:
    """An `openssh-key-v1` blob that is not passphrase-protected (cipher `none`)."""
    return _openssh_cipher(secret, match) == b"none"


@validator("openssh-private-key-encrypted")
def openssh_private_key_encrypted(secret: bytes, match: bytes) -> bool:
    """An `openssh-key-v1` blob protected by a passphrase (cipher other than `none`)."""
    cipher = _openssh_cipher(secret, match)
    return cipher is not None and cipher != b"none"


def _crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


@validator("pgp-private-key")
def pgp_private_key(secret: bytes, match: bytes) -> bool:
    """An armored PGP block whose first packet is a secret key (tag 5), with a valid CRC-24 if present."""
    m = re.search(rb"-----BEGIN PGP PRIVATE KEY BLOCK-----([\s\S]*?)-----END PGP PRIVATE KEY BLOCK-----",
                  secret) or re.search(rb"-----BEGIN PGP PRIVATE KEY BLOCK-----([\s\S]*?)-----END PGP PRIVATE "
                                       rb"KEY BLOCK-----", match)
    if not m:
        return False
    body: list[bytes] = []
    checksum = None
    for line in _unwrap_lines(m.group(1)):
        if b":" in line and not body:
            continue  # armor headers (Version, Comment)
        if line.startswith(b"=") and len(line) == 5:
            checksum = line[1:]
            break
        body.append(line)
    data = _decode(b"".join(body))
    if not data:
        return False
    first = data[0]
    if not first & 0x80:
        return False
    tag = first & 0x3F if first & 0x40 else (first >> 2) & 0x0F
    if tag != 5:
        return False
    if checksum is not None:
        try:
            want = int.from_bytes(base64.b64decode(checksum, validate=True), "big")
        except (binascii.Error, ValueError):
            return False
        return _crc24(data) == want
    return True


def _putty_encryption(secret: bytes) -> bytes | None:
    """The `Encryption:` value of a PuTTY .ppk (v2/v3) whose `Private-Lines: N` are followed by N lines
    of real base64 key data, or None when the text is not such a key."""
    lines = _unwrap_lines(secret)
    encryption = None
    for i, line in enumerate(lines):
        if line.startswith(b"Encryption:"):
            encryption = line.partition(b":")[2].strip()
            continue
        m = re.match(rb"Private-Lines:\s*(\d{1,3})$", line)
        if not m or encryption is None:
            continue
        n = int(m.group(1))
        chunk = lines[i + 1 : i + 1 + n]
        if len(chunk) != n or n == 0:
            return None
        body = b"".join(chunk)
        if not _B64_BODY.fullmatch(body) or len(set(body)) <= 16:
            return None
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None
        return encryption if len(data) >= 32 else None
    return None


@validator("putty-private-key")
def putty_private_key(secret: bytes, _match: bytes) -> bool:
    """A PuTTY .ppk (v2/v3) stored without a passphrase (`Encryption: none`)."""
    return _putty_encryption(secret) == b"none"


@validator("putty-private-key-encrypted")
def putty_private_key_encrypted(secret: bytes, _match: bytes) -> bool:
    """A PuTTY .ppk (v2/v3) protected by a passphrase (`Encryption: aes256-cbc`)."""
    enc = _putty_encryption(secret)
    return enc is not None and enc != b"none"


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


@validator("bech32")
def bech32(secret: bytes, _match: bytes) -> bool:
    """A bech32 string (BIP 173) with a valid checksum, e.g. an age secret key."""
    s = secret.strip().decode("ascii", "replace").lower()
    hrp, sep, data = s.rpartition("1")
    if not sep or not hrp or len(data) < 6 or any(c not in _BECH32 for c in data):
        return False
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + [_BECH32.index(c) for c in data]
    return _bech32_polymod(values) == 1



@validator("private-key-base64")
def private_key_base64(secret: bytes, _match: bytes) -> bool:
    """Base64 of a PEM/OpenSSH/PGP private key (Kubernetes Secret `data`, `*_B64` variables, `base64` output
    wrapped at 76 columns): decoded, the block must pass the validator for its own format."""
    raw = re.sub(rb"\s+", b"", secret).rstrip(b"=")
    if len(raw) % 4 == 1:  # a stray character at the end: drop it, keep every whole byte
        raw = raw[:-1]
    raw += b"=" * (-len(raw) % 4)
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return False
    if b"-----BEGIN OPENSSH PRIVATE KEY-----" in decoded:
        return _openssh_cipher(decoded, b"") is not None
    if b"-----BEGIN PGP PRIVATE KEY BLOCK-----" in decoded:
        return pgp_private_key(decoded, b"")
    return private_key(decoded, b"")
