import type { Repos } from "../../db/repos";

/**
 * Recomputes used/reserved bytes from the files table (one tenant, or all) in one transaction,
 * so no upload settles half-way through the count. Returns the drift that was fixed. The one
 * entry point for the admin route, the storage module's `?recalculate=true` and the CLI.
 */
export function recalculateUsage(repos: Pick<Repos, "tx" | "quota">, tenantId?: string) {
  return repos.tx(() => repos.quota.recalculate(tenantId));
}
export type UsageDrift = Awaited<ReturnType<typeof recalculateUsage>>;
