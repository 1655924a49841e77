"""Redaction of URLs for messages: what a registry, a token realm or a kubeconfig names may carry a
password in its userinfo or a token in its query (signed URLs). Values found by a scan are redacted by
`secretkeeper.findings.redact`."""

from __future__ import annotations

import re

_USERINFO_RE = re.compile(r"(?:(?<=//)|^)[^/@\s]*@(?=[^@\s]*(?:/|$))")
_QUERY_RE = re.compile(r"[?#][^\s'\"]*")


def redact_url(text: str) -> str:
    """A URL (or text holding one) fit for an error message: userinfo, query and fragment become `***`."""
    return _QUERY_RE.sub(lambda m: m.group()[0] + "***", _USERINFO_RE.sub("***@", text))
