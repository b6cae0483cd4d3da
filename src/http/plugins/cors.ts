import { Elysia } from "elysia";

export interface CorsOptions {
  /** Allowed origins, or ["*"] for any. */
  origins: readonly string[];
  methods: readonly string[];
  /** Request headers a browser may send (answered on preflight). */
  allowedHeaders: readonly string[];
  /** Response headers scripts may read. */
  exposeHeaders: readonly string[];
  maxAgeSeconds: number;
}

/**
 * CORS for a bearer-key API (no cookies, so never credentials).
 *
 * Contract: an allowed request Origin is echoed in `Access-Control-Allow-Origin` (with any origin
 * allowed and no Origin sent, `*`); every response says `Vary: Origin`, because that echo is the
 * only part of an answer that depends on request headers the URL does not show. Every OPTIONS
 * request is answered here with 204 and the preflight headers (routes never see OPTIONS; tus
 * discovery adds its headers to this answer, see tus.routes.ts).
 *
 * Why not @elysiajs/cors: with any origin allowed it marks every response `Vary: *`, which makes
 * all of them uncacheable, revalidation with If-None-Match included.
 */
export function cors(o: CorsOptions) {
  const any = o.origins.includes("*");
  const allowed = new Set(o.origins);
  const methods = o.methods.join(", ");
  const allowedHeaders = o.allowedHeaders.join(", ");
  const exposeHeaders = o.exposeHeaders.join(", ");
  return new Elysia({ name: "cors" }).onRequest(({ request, set }) => {
    const origin = request.headers.get("origin");
    set.headers.vary = "Origin";
    if (origin && (any || allowed.has(origin))) set.headers["access-control-allow-origin"] = origin;
    else if (!origin && any) set.headers["access-control-allow-origin"] = "*";
    set.headers["access-control-expose-headers"] = exposeHeaders;
    if (request.method !== "OPTIONS") return;
    set.headers["access-control-allow-methods"] = methods;
    set.headers["access-control-allow-headers"] = allowedHeaders;
    set.headers["access-control-max-age"] = String(o.maxAgeSeconds);
    return new Response(null, { status: 204 });
  });
}
