import { Elysia } from "elysia";
import type { Metrics } from "../domain/ops/metrics";
import { noteClientAddress } from "./client-address";

/**
 * Request metrics are taken around the whole fetch (so the status is the one actually sent,
 * error responses and 206s included), while the route *template* is only known inside Elysia:
 * a global transform hook (it runs before any route's own hooks, auth included) notes it per
 * request here. Requests that match no route never get a template and count as "unmatched".
 */
const templates = new WeakMap<Request, string>();

export function routeTemplateRecorder() {
  return new Elysia({ name: "route-template-recorder" }).onTransform({ as: "global" }, ({ request, route }) => {
    templates.set(request, route);
  });
}

type Server = { requestIP(r: Request): { address: string } | null };

/** The server's fetch: request metrics, and the peer address noted for the audit trail. */
export function withRequestMetrics(fetch: (req: Request) => Promise<Response> | Response, metrics: Metrics) {
  return async (request: Request, server?: Server): Promise<Response> => {
    const at = performance.now();
    if (server) noteClientAddress(request, server);
    let status = 500;
    try {
      const res = await fetch(request);
      status = res.status;
      return res;
    } finally {
      metrics.request(request.method, templates.get(request) ?? "unmatched", status, (performance.now() - at) / 1000);
    }
  };
}
