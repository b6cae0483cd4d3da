import type { WorkspacesService } from "../../domain/workspaces/workspaces.service";

/**
 * The workspace a request means: the one named in the body or query, else `X-Workspace-Id` (what the
 * SDK's withWorkspace() sends), else none. A header naming another tenant's (or no) workspace is 404.
 */
export async function workspaceFromHeader(
  workspaces: WorkspacesService,
  tenantId: string,
  request: Request,
  explicit?: string,
): Promise<string | undefined> {
  if (explicit) return explicit;
  const h = request.headers.get("x-workspace-id")?.trim();
  if (!h) return undefined;
  await workspaces.getRow(tenantId, h);
  return h;
}
