-- Admin console sessions (twin of migrations/0008_console_sessions.sql): only the SHA-256 of the
-- cookie's session id is kept.
CREATE TABLE console_sessions (
  id_hash    TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

-- The admin overview counts uploads of the last 24 h and per day, and dead webhook deliveries.
CREATE INDEX files_uploaded_at ON files (uploaded_at) WHERE uploaded_at IS NOT NULL;
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (tenant_id) WHERE status = 'dead';
