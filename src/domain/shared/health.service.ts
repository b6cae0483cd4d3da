import type { Repos } from "../../db/repos";
import type { StorageBackend } from "../../storage/backend";

export type CheckStatus = "ok" | "unavailable";

/** Readiness: whether the database and the storage backend answer right now. */
export function createHealthService(deps: { repos: Repos; backend: StorageBackend }) {
  return {
    async check(): Promise<{ ok: boolean; checks: { database: CheckStatus; storage: CheckStatus } }> {
      let database: CheckStatus = "ok";
      try {
        await deps.repos.settings.get("ping");
      } catch {
        database = "unavailable";
      }
      let storage: CheckStatus = "ok";
      try {
        await deps.backend.ping();
      } catch {
        storage = "unavailable";
      }
      return { ok: database === "ok" && storage === "ok", checks: { database, storage } };
    },
  };
}
export type HealthService = ReturnType<typeof createHealthService>;
