"""Keyed hashes of patient identifiers: findable by exact value, not readable back.

A bare SHA-256 of a patient ID can be reversed by trying every plausible ID; an HMAC with a secret
key (``BONEAGE_IDENTIFIER_KEY``) cannot without the key (docs/standards.md, "Upload safety").
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def identifier_hmac(value: str) -> str:
    """Hex HMAC-SHA256 of an identifier with surrounding spaces removed; '' for an empty one."""
    value = value.strip()
    if not value:
        return ""
    key = settings.BONEAGE_IDENTIFIER_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
