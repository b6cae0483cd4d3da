/**
 * The peer address of each request's connection. Bun hands it to the server's fetch (via
 * `server.requestIP`), not to Elysia when the app is served by our own `Bun.serve` call, so the
 * serving wrapper notes it here and handlers (the audit trail) read it back. Requests built
 * in-process (tests) have none: null.
 */
const addresses = new WeakMap<Request, string>();

export function noteClientAddress(request: Request, server: { requestIP(r: Request): { address: string } | null }) {
  const ip = server.requestIP(request);
  if (ip) addresses.set(request, ip.address);
}

export function clientAddress(request: Request): string | null {
  return addresses.get(request) ?? null;
}

/**
 * The address rate limits count against. The socket's, unless `trustProxy` (TRUST_PROXY) says a
 * reverse proxy in front sets X-Forwarded-For: then its last entry, the one that proxy added
 * (earlier entries come from the client and can be anything).
 */
export function rateLimitAddress(request: Request, trustProxy: boolean): string | null {
  if (trustProxy) {
    const last = request.headers.get("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (last) return last;
  }
  return clientAddress(request);
}
