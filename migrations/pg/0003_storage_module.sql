-- Storage API module (twin of migrations/0003_storage_module.sql): user-scoped keys, per-user
-- folders with unique stored names, categories, plans.

ALTER TABLE files ADD COLUMN user_id TEXT;          -- NULL: the organization's own folder
ALTER TABLE files ADD COLUMN category TEXT NOT NULL DEFAULT 'general'
  CHECK (category IN ('data_source', 'profile_image', 'general'));
ALTER TABLE files ADD COLUMN stored_name TEXT;      -- {original}_{YYYYMMDD_HHMMSS}_{uuid8}.{ext}
CREATE UNIQUE INDEX files_stored_name ON files (tenant_id, coalesce(user_id, ''), stored_name) WHERE stored_name IS NOT NULL;
CREATE INDEX files_tenant_user_page ON files (tenant_id, user_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE plans (
  id                  TEXT PRIMARY KEY,
  name                TEXT NOT NULL UNIQUE,
  quota_bytes         BIGINT NOT NULL CHECK (quota_bytes >= 0),
  max_file_size_bytes BIGINT NOT NULL CHECK (max_file_size_bytes > 0),
  created_at          BIGINT NOT NULL,
  updated_at          BIGINT NOT NULL
);
ALTER TABLE tenants ADD COLUMN plan_id TEXT REFERENCES plans(id) ON DELETE SET NULL;

CREATE TABLE user_keys (
  id           TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id      TEXT NOT NULL,
  workspace_id TEXT REFERENCES workspaces(id) ON DELETE CASCADE,
  scopes       JSONB NOT NULL,                 -- array of read | write | delete
  key_hash     TEXT NOT NULL UNIQUE,
  key_prefix   TEXT NOT NULL,
  name         TEXT,
  created_at   BIGINT NOT NULL,
  revoked_at   BIGINT
);
CREATE INDEX user_keys_tenant ON user_keys (tenant_id, created_at);
