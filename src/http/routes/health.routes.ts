import { Elysia } from "elysia";
import type { Repos } from "../../db/repos";
import type { StorageBackend } from "../../storage/backend";
import { routeConfig } from "../schemas";

/** Liveness (`/health`, always ok while the process serves) and readiness (database + storage answer). */
export function healthRoutes(deps: { repos: Repos; backend: StorageBackend }) {
  return new Elysia(routeConfig({ tags: ["health"] }))
    .get("/health", () => ({ status: "ok" }), { detail: { summary: "Liveness" } })
    .get(
      "/ready",
      async ({ set }) => {
        const checks: Record<string, string> = {};
        try {
          deps.repos.settings.get("ping");
          checks.database = "ok";
        } catch {
          checks.database = "unavailable";
        }
        try {
          await deps.backend.ping();
          checks.storage = "ok";
        } catch {
          checks.storage = "unavailable";
        }
        const ok = Object.values(checks).every((v) => v === "ok");
        set.status = ok ? 200 : 503;
        return { status: ok ? "ready" : "unavailable", checks };
      },
      { detail: { summary: "Readiness: database and storage backend answer" } },
    );
}
