-- Storage Brain schema, version 1 (PostgreSQL twin of migrations/0001_init.sql; keep them in step,
-- test/db/pg-schema.test.ts compares the two). Times are epoch milliseconds (bigint); byte counts
-- are bigint; JSON columns are jsonb.

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE tenants (
  id                 TEXT PRIMARY KEY,
  name               TEXT NOT NULL UNIQUE,
  api_key_hash       TEXT NOT NULL UNIQUE,        -- SHA-256 hex of the key; the key itself is never stored
  key_prefix         TEXT NOT NULL,               -- display only, e.g. "sk_live_Ab3x"
  quota_bytes        BIGINT NOT NULL DEFAULT 524288000 CHECK (quota_bytes >= 0),
  used_bytes         BIGINT NOT NULL DEFAULT 0 CHECK (used_bytes >= 0),     -- completed files
  reserved_bytes     BIGINT NOT NULL DEFAULT 0 CHECK (reserved_bytes >= 0), -- upload requests in flight
  allowed_file_types JSONB,                       -- array; NULL = the default set
  webhook_secret     TEXT NOT NULL,
  created_at         BIGINT NOT NULL,
  updated_at         BIGINT NOT NULL
);

CREATE TABLE workspaces (
  id             TEXT PRIMARY KEY,
  tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name           TEXT NOT NULL,
  slug           TEXT NOT NULL,
  quota_bytes    BIGINT CHECK (quota_bytes IS NULL OR quota_bytes >= 0),
  used_bytes     BIGINT NOT NULL DEFAULT 0 CHECK (used_bytes >= 0),
  reserved_bytes BIGINT NOT NULL DEFAULT 0 CHECK (reserved_bytes >= 0),
  metadata       JSONB,
  created_at     BIGINT NOT NULL,
  updated_at     BIGINT NOT NULL,
  deleted_at     BIGINT
);
CREATE UNIQUE INDEX workspaces_tenant_slug ON workspaces (tenant_id, slug) WHERE deleted_at IS NULL;
CREATE INDEX workspaces_tenant_created ON workspaces (tenant_id, created_at, id);

-- A file row exists from the upload request on: the pending row *is* the upload.
CREATE TABLE files (
  id                TEXT PRIMARY KEY,
  tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  workspace_id      TEXT REFERENCES workspaces(id) ON DELETE SET NULL,
  original_name     TEXT NOT NULL,
  file_type         TEXT NOT NULL,
  size_bytes        BIGINT NOT NULL CHECK (size_bytes >= 0),
  context           TEXT,
  tags              JSONB,
  metadata          JSONB,
  processing_status TEXT NOT NULL DEFAULT 'pending'
                    CHECK (processing_status IN ('pending', 'processing', 'completed', 'failed')),
  storage_key       TEXT NOT NULL,
  reserved_bytes    BIGINT NOT NULL DEFAULT 0,    -- quota this row holds as a reservation
  charged_bytes     BIGINT NOT NULL DEFAULT 0,    -- quota this row holds in used_bytes
  sha256            TEXT,
  wrapped_key       TEXT,                         -- data key wrapped by the master key (base64)
  key_id            TEXT,                         -- which master key wrapped it
  segment_size      INTEGER,
  webhook_url       TEXT,
  upload_expires_at BIGINT,
  upload_started_at BIGINT,                       -- set while a PUT is streaming
  uploaded_at       BIGINT,
  created_at        BIGINT NOT NULL,
  updated_at        BIGINT NOT NULL,
  deleted_at        BIGINT,
  purged_at         BIGINT
);
CREATE INDEX files_tenant_page ON files (tenant_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX files_tenant_ws_page ON files (tenant_id, workspace_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX files_tenant_ctx_page ON files (tenant_id, context, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX files_tenant_type_page ON files (tenant_id, file_type, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX files_workspace ON files (workspace_id) WHERE deleted_at IS NULL;
CREATE INDEX files_pending_expiry ON files (upload_expires_at) WHERE processing_status IN ('pending', 'processing');
CREATE INDEX files_purge_due ON files (deleted_at) WHERE deleted_at IS NOT NULL AND purged_at IS NULL;

-- Counters behind list `total` and `/files/contexts`: one row per (tenant, workspace, context, type)
-- of live (not deleted) files, kept right by triggers in the same transaction as the change,
-- so totals never need count(*) over a tenant's files.
CREATE TABLE file_stats (
  tenant_id    TEXT NOT NULL,
  workspace_id TEXT NOT NULL,  -- '' for none
  context      TEXT NOT NULL,  -- '' for none
  file_type    TEXT NOT NULL,
  file_count   BIGINT NOT NULL,
  total_bytes  BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, workspace_id, context, file_type)
);

-- The SQLite triggers' bodies as two functions: count NEW in, count OLD out. The triggers keep
-- SQLite's names, events and WHEN conditions. Order between the two UPDATE triggers does not
-- matter (one adds to NEW's row, the other subtracts from OLD's).
CREATE FUNCTION file_stats_count_in() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO file_stats AS s (tenant_id, workspace_id, context, file_type, file_count, total_bytes)
  VALUES (NEW.tenant_id, coalesce(NEW.workspace_id, ''), coalesce(NEW.context, ''), NEW.file_type, 1, NEW.size_bytes)
  ON CONFLICT (tenant_id, workspace_id, context, file_type)
  DO UPDATE SET file_count = s.file_count + 1, total_bytes = s.total_bytes + excluded.total_bytes;
  RETURN NULL;
END;
$$;

CREATE FUNCTION file_stats_count_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE file_stats SET file_count = file_count - 1, total_bytes = total_bytes - OLD.size_bytes
  WHERE tenant_id = OLD.tenant_id AND workspace_id = coalesce(OLD.workspace_id, '')
    AND context = coalesce(OLD.context, '') AND file_type = OLD.file_type;
  RETURN NULL;
END;
$$;

CREATE TRIGGER file_stats_insert AFTER INSERT ON files
  FOR EACH ROW WHEN (NEW.deleted_at IS NULL) EXECUTE FUNCTION file_stats_count_in();

CREATE TRIGGER file_stats_update_out AFTER UPDATE OF deleted_at, workspace_id, context, file_type, size_bytes ON files
  FOR EACH ROW WHEN (OLD.deleted_at IS NULL) EXECUTE FUNCTION file_stats_count_out();

CREATE TRIGGER file_stats_update_in AFTER UPDATE OF deleted_at, workspace_id, context, file_type, size_bytes ON files
  FOR EACH ROW WHEN (NEW.deleted_at IS NULL) EXECUTE FUNCTION file_stats_count_in();

CREATE TRIGGER file_stats_delete AFTER DELETE ON files
  FOR EACH ROW WHEN (OLD.deleted_at IS NULL) EXECUTE FUNCTION file_stats_count_out();
