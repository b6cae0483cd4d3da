import { Elysia } from "elysia";
import type { Metrics } from "../../domain/ops/metrics";
import { unauthorized } from "../../domain/shared/errors";
import { safeEqual } from "../../domain/shared/secrets";
import type { AdminAuthService } from "../../domain/tenants/admin-auth.service";
import { bearerKey } from "../plugins/auth";
import { routeConfig } from "../schemas";

/**
 * GET /metrics: Prometheus text format. Bearer METRICS_TOKEN (where set, so a scraper never
 * holds the admin key) or the admin key.
 */
export function metricsRoutes(deps: { adminAuth: AdminAuthService; metrics: Metrics; metricsToken: string | null }) {
  // A route-level hook: a scoped one would guard every route mounted after this module.
  const guard = async ({ request }: { request: Request }) => {
    const key = bearerKey(request);
    if (!key) throw unauthorized("Missing metrics token");
    if (deps.metricsToken && safeEqual(key, deps.metricsToken)) return;
    await deps.adminAuth.verifyAdminKey(key);
  };
  return new Elysia(routeConfig({ tags: ["admin"] })).get(
    "/metrics",
    async () => new Response(await deps.metrics.text(), { headers: { "content-type": deps.metrics.contentType } }),
    {
      beforeHandle: guard,
      detail: {
        summary: "Prometheus metrics (Bearer METRICS_TOKEN or the admin key)",
        security: [{ bearerAuth: [] }],
      },
    },
  );
}
