import { Elysia } from "elysia";
import type { HealthService } from "../../domain/shared/health.service";
import { routeConfig } from "../schemas";

/** Liveness (`/health`, always ok while the process serves) and readiness (database + storage answer). */
export function healthRoutes(deps: { health: HealthService }) {
  return new Elysia(routeConfig({ tags: ["health"] }))
    .get("/health", () => ({ status: "ok" }), { detail: { summary: "Liveness" } })
    .get(
      "/ready",
      async ({ set }) => {
        const { ok, checks } = await deps.health.check();
        set.status = ok ? 200 : 503;
        return { status: ok ? "ready" : "unavailable", checks };
      },
      { detail: { summary: "Readiness: database and storage backend answer" } },
    );
}
