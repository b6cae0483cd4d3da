import type { Repos } from "../../db/repos";
import type { ProcessingStatus } from "../../db/schema";
import { fileView } from "../files/file-view";
import type { Clock } from "../shared/clock";
import { keysetPage } from "../shared/cursor";
import { notFound } from "../shared/errors";

const DAY_MS = 86_400_000;

export interface AdminStatsDeps {
  repos: Repos;
  clock: Clock;
  version: string;
  /** When this process started (epoch ms), for the uptime. */
  startedAt: number;
  backend: { name: string; ping(): Promise<void> };
}

export interface AdminFileSearchInput {
  limit?: number;
  cursor?: string;
  q?: string;
  fileType?: string;
  status?: ProcessingStatus;
  workspaceId?: string;
  sort?: "newest" | "oldest";
}

/** What the admin overview and usage views show: numbers across all tenants, and file search. */
export function createAdminStatsService(deps: AdminStatsDeps) {
  const { repos, clock } = deps;
  return {
    async overview() {
      const now = clock.now();
      let backendStatus: "ok" | "unavailable" = "ok";
      try {
        await deps.backend.ping();
      } catch {
        backendStatus = "unavailable";
      }
      return {
        ...(await repos.adminStats.totals(now - DAY_MS)),
        backend: { name: deps.backend.name, status: backendStatus },
        version: deps.version,
        uptimeSeconds: Math.max(0, Math.floor((now - deps.startedAt) / 1000)),
        startedAt: new Date(deps.startedAt).toISOString(),
      };
    },

    /** Bytes per tenant and per workspace, and completed uploads per UTC day for the last `days` days. */
    async usage(days: number, tenantId?: string) {
      if (tenantId && !(await repos.tenants.byId(tenantId))) throw notFound("Tenant");
      const since = Math.floor(clock.now() / DAY_MS) * DAY_MS - (days - 1) * DAY_MS;
      const perDay = new Map((await repos.adminStats.uploadsPerDay(since, tenantId)).map((d) => [d.day, d]));
      const uploadsPerDay = Array.from({ length: days }, (_, i) => {
        const day = new Date(since + i * DAY_MS).toISOString().slice(0, 10);
        const d = perDay.get(day);
        return { day, uploads: d?.uploads ?? 0, bytes: d?.bytes ?? 0 };
      });
      const tenants = (await repos.adminStats.tenantUsage()).filter((t) => !tenantId || t.id === tenantId);
      return { tenants, workspaces: await repos.adminStats.workspaceUsage(tenantId), uploadsPerDay };
    },

    /** A tenant's live files by name/context substring, type, status and workspace; newest or oldest first. */
    async searchFiles(tenantId: string, q: AdminFileSearchInput) {
      if (!(await repos.tenants.byId(tenantId))) throw notFound("Tenant");
      const search = {
        tenantId,
        workspaceId: q.workspaceId,
        fileType: q.fileType,
        status: q.status,
        q: q.q?.trim() || undefined,
        order: q.sort ?? "newest",
      };
      const { items, nextCursor } = await keysetPage(q.limit ?? 20, q.cursor, (n, after) =>
        repos.adminStats.searchFiles(search, n, after),
      );
      return { files: items.map(fileView), nextCursor };
    },
  };
}
export type AdminStatsService = ReturnType<typeof createAdminStatsService>;
