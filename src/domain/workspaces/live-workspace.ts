import type { Repos } from "../../db/repos";
import type { WorkspaceRow } from "../../db/schema";
import { workspaceNotFound } from "../shared/errors";

/**
 * A live (not deleted) workspace of this tenant, or 404 NOT_FOUND: another tenant's workspace
 * is indistinguishable from one that never existed. Every place that takes a workspace id asks here.
 */
export async function liveWorkspace(
  repos: Pick<Repos, "workspaces">,
  tenantId: string,
  workspaceId: string,
): Promise<WorkspaceRow> {
  const w = await repos.workspaces.liveById(tenantId, workspaceId);
  if (!w) throw workspaceNotFound(workspaceId);
  return w;
}
