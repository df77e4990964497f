-- What auth.refresh_tokens holds once auth_flow issues tokens (0021). The
-- @secret marker stays: audit.enable_tracking() and auth_flow.without_secrets()
-- read it, and a GoTrue v1 row in the same table still holds a plaintext token.
comment on column auth.refresh_tokens.token is
  '@secret auth_flow tokens: hex sha256 of the 43-character token (the token itself is never stored); GoTrue v1 tokens: the 12-character plaintext';
comment on column auth.refresh_tokens.parent is
  '@secret the token value (hash or GoTrue plaintext) of the refresh token this one replaced';
