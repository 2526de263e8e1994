"""Make URLs and messages safe to show: no credentials, no signatures, no secrets."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

# Query parameters that carry signatures or tokens (S3/GCS/Azure presigned URLs, API keys). The
# database's redact_url is the rule for what is recorded; this pattern and redact_url below are
# pinned to it by py/tests/test_one_writer.py.
SECRET_PARAM = re.compile(r"sig|token|key|secret|passw|credential|auth", re.IGNORECASE)
_USERINFO = re.compile(r"//[^/?#@]*@")
MAX_SHOWN = 300


def redact_url(url: object) -> str:
    """The URL as it may appear in messages and records: userinfo removed, secret query
    values replaced by REDACTED, fragment dropped, control characters escaped, long URLs cut."""
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return _shorten(_USERINFO.sub("//", text))
    netloc = parts.netloc.rpartition("@")[2]
    query = (
        "&".join(_redact_param(p) for p in parts.query.split("&"))
        if parts.query
        else ""
    )
    return _shorten(urlunsplit((parts.scheme, netloc, parts.path, query, "")))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each (non-empty) secret replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _redact_param(param: str) -> str:
    name, sep, value = param.partition("=")
    if sep and value and SECRET_PARAM.search(name):
        return f"{name}=REDACTED"
    return param


def _shorten(text: str) -> str:
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"
