"""List responses: pages of a result, opaque page tokens bound to the query that made them."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from tuned_models_emulator.errors import InvalidArgument


def paged_response(key: str, chunk: list[Any], token: str | None) -> dict[str, Any]:
    """A List response: the page under ``key`` and ``nextPageToken``, each omitted when empty."""
    out: dict[str, Any] = {}
    if chunk:
        out[key] = chunk
    if token:
        out["nextPageToken"] = token
    return out


def encode_page_token(offset: int, fingerprint: str) -> str:
    """An opaque page token (URL-safe, no padding)."""
    raw = json.dumps({"o": offset, "f": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str, fingerprint: str) -> int:
    """The offset in a page token; 400 when it is malformed or from a different query."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = int(data["o"])
        ok = data.get("f") == fingerprint and offset >= 0
    except Exception:
        ok = False
        offset = 0
    if not ok:
        raise InvalidArgument("Invalid page token.")
    return offset


def page(
    items: list[Any], query: Mapping[str, str], *, default: int, maximum: int, fingerprint: str
) -> tuple[list[Any], str | None]:
    """One page of ``items`` per ``pageSize``/``pageToken``; returns the page and the next token."""
    raw_size = query.get("pageSize")
    try:
        size = int(raw_size) if raw_size not in (None, "") else 0
    except ValueError:
        raise InvalidArgument(f"Invalid value for pageSize: {raw_size}") from None
    if size < 0:
        raise InvalidArgument("page_size must not be negative.")
    size = min(size or default, maximum)
    token = query.get("pageToken") or ""
    offset = decode_page_token(token, fingerprint) if token else 0
    chunk = items[offset : offset + size]
    following = offset + size
    return chunk, (encode_page_token(following, fingerprint) if following < len(items) else None)
