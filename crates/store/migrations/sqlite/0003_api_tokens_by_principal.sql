-- Listing a user's own tokens (`GET /api/v1/tokens`) without scanning every session.

CREATE INDEX api_tokens_by_principal ON api_tokens (principal, created_at);
