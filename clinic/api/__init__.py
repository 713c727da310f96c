"""The REST API for hospital systems: /api/v1/, per-integration tokens, OpenAPI schema."""
