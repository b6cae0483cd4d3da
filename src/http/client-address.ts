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
