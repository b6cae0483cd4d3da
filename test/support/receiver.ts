/** A real HTTP webhook receiver on 127.0.0.1 that records requests and answers by a script. */
export interface Received {
  headers: Headers;
  body: string;
  at: number;
}

export function startReceiver(
  respond: (n: number, req: Request) => Response | Promise<Response> = () => new Response("ok"),
) {
  const received: Received[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const body = await req.text();
      received.push({ headers: req.headers, body, at: Date.now() });
      return respond(received.length, req);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/hook`,
    received,
    async waitFor(n: number, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      while (received.length < n) {
        if (Date.now() > end) throw new Error(`receiver got ${received.length} of ${n} requests`);
        await Bun.sleep(10);
      }
      return received;
    },
    stop: () => server.stop(true),
  };
}
