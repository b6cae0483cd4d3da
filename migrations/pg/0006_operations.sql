-- Operations (twin of migrations/0006_operations.sql): the audit log, and a tenant key's grace
-- window after regeneration.

-- Who did what to which target, from where. No foreign keys: the trail outlives deleted tenants.
CREATE TABLE audit_log (
  id TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL,
  actor_type TEXT NOT NULL,      -- admin | tenant | user | cli
  actor_id TEXT,                 -- tenant id, user key id; null for the admin key and the CLI
  action TEXT NOT NULL,          -- e.g. tenant.create, tenant.key.regenerate
  target TEXT,                   -- e.g. tenant/<id>, tenant/<id>/file/<id>
  tenant_id TEXT,                -- the tenant the action concerns, for filtering
  address TEXT,                  -- client address as the server saw it
  details JSONB                  -- never secrets
);
CREATE INDEX audit_log_created ON audit_log (created_at DESC, id DESC);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, created_at DESC, id DESC);
CREATE INDEX audit_log_action ON audit_log (action, created_at DESC, id DESC);

-- regenerate-key with graceSeconds: the replaced key keeps working until previous_key_expires_at.
ALTER TABLE tenants ADD COLUMN previous_key_hash TEXT;
ALTER TABLE tenants ADD COLUMN previous_key_expires_at BIGINT;
CREATE INDEX tenants_previous_key_hash ON tenants (previous_key_hash) WHERE previous_key_hash IS NOT NULL;
