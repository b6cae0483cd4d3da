-- Twin of migrations/0009_any_type_tenants_auth_workspace.sql. Tenants: NULL in
-- allowed_file_types now means "any well-formed MIME type"; existing NULLs become the former
-- default list explicitly.
UPDATE tenants
SET allowed_file_types = '["image/jpeg","image/png","image/webp","image/gif","image/avif","application/pdf"]'::jsonb
WHERE allowed_file_types IS NULL;

-- Workspaces may be bound to a workspace of an external identity system (auth_workspace_id);
-- nullable, and unique per tenant among live workspaces when set.
ALTER TABLE workspaces ADD COLUMN auth_workspace_id TEXT;
CREATE UNIQUE INDEX workspaces_tenant_auth_workspace ON workspaces (tenant_id, auth_workspace_id)
  WHERE auth_workspace_id IS NOT NULL AND deleted_at IS NULL;
