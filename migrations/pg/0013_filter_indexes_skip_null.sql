-- Twin of migrations/0013_filter_indexes_skip_null.sql: the workspace and context filter indexes
-- leave out rows without a workspace or a context (a filter `col = $1` implies NOT NULL, so the
-- planner still uses them).
DROP INDEX files_tenant_ws_page;
CREATE INDEX files_tenant_ws_page ON files (tenant_id, workspace_id, created_at DESC, id DESC)
  WHERE deleted_at IS NULL AND workspace_id IS NOT NULL;
DROP INDEX files_tenant_ctx_page;
CREATE INDEX files_tenant_ctx_page ON files (tenant_id, context, created_at DESC, id DESC)
  WHERE deleted_at IS NULL AND context IS NOT NULL;
DROP INDEX files_workspace;
CREATE INDEX files_workspace ON files (workspace_id) WHERE deleted_at IS NULL AND workspace_id IS NOT NULL;
