-- Admin console sessions: the browser holds a random session id in an HttpOnly cookie; only its
-- SHA-256 is kept here. Signing out deletes the row; expired rows are ignored and swept.
CREATE TABLE console_sessions (
  id_hash    TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

-- The admin overview counts uploads of the last 24 h and per day, and dead webhook deliveries:
-- without these they would be scans of the whole files and deliveries tables.
CREATE INDEX files_uploaded_at ON files (uploaded_at) WHERE uploaded_at IS NOT NULL;
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (tenant_id) WHERE status = 'dead';
