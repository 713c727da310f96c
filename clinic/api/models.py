"""API tokens: one per integration (a PACS bridge, a RIS, a research export), tied to a user.

The token acts as its user: it sees what the user's institution may see, nothing more. Only a
SHA-256 digest of the token is stored. A bare hash suffices here, unlike for patient identifiers
(docs/standards.md asks for a keyed HMAC there): a token is 256 random bits, so it cannot be guessed
from its digest, and an unkeyed digest survives a rotation of SECRET_KEY.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A revocable credential of one integration; the clear token is shown once, at creation."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="Which integration uses it, e.g. 'pacs'.")
    prefix = models.CharField(
        max_length=8, help_text="First characters of the token, to recognise it in a list."
    )
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the token, hex.")
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"{self.name} ({self.prefix}…, {self.user}, {state})"
