import net from "node:net";

/**
 * A TCP proxy for fault tests, in the spirit of tusd's end-to-end suite: put it between a client and
 * a server (or between the server and its S3 peer) and make the next connections misbehave.
 *
 * A fault applies to every connection, open ones included (a client's pooled keep-alive socket
 * too), counting bytes in one direction from the moment it is set ("up" = client → target,
 * "down" = target → client):
 * - `cut`: after `afterBytes`, both sides are closed cleanly (FIN): a truncated stream;
 * - `rst`: after `afterBytes`, both sides are reset (RST): a broken connection;
 * - `stall`: after `afterBytes`, nothing more is forwarded either way, the sockets stay open;
 * - `bytesPerSecond` (any fault, or none): a bandwidth cap in both directions.
 * Bytes are forwarded exactly up to `afterBytes`, so a test knows what the far side has seen.
 */
export interface Fault {
  kind: "none" | "cut" | "rst" | "stall";
  direction?: "up" | "down";
  afterBytes?: number;
  bytesPerSecond?: number;
}

export interface FaultProxy {
  port: number;
  url: string;
  /** The fault from now on, for open and new connections (a connection that already failed stays so). */
  setFault(f: Fault): void;
  /** Connections accepted so far, and how many of them triggered their fault. */
  stats(): { connections: number; triggered: number; open: number };
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host?: string; port: number }): Promise<FaultProxy> {
  let fault: Fault = { kind: "none" };
  let connections = 0;
  let triggered = 0;
  const open = new Set<net.Socket>();

  let generation = 0; // bumped by setFault: byte counts restart from the moment a fault is set

  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    connections++;
    const upstream = net.connect(target.port, target.host ?? "127.0.0.1");
    for (const s of [client, upstream]) {
      open.add(s);
      s.on("close", () => open.delete(s));
      s.on("error", () => {});
    }
    let fired = false;
    const fire = (f: Fault) => {
      if (fired) return;
      fired = true;
      triggered++;
      if (f.kind === "cut") {
        client.end();
        upstream.end();
      } else if (f.kind === "rst") {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      } else if (f.kind === "stall") {
        client.pause();
        upstream.pause();
      }
    };
    const limitFor = (f: Fault, dir: "up" | "down") =>
      f.kind !== "none" && (f.direction ?? "up") === dir ? (f.afterBytes ?? 0) : Infinity;
    const pipe = (from: net.Socket, to: net.Socket, dir: "up" | "down") => {
      let sent = 0;
      let seen = generation;
      from.on("data", (chunk: Buffer) => {
        if (fired) return;
        if (seen !== generation) {
          seen = generation;
          sent = 0;
        }
        const f = fault;
        const limit = limitFor(f, dir);
        const take = Math.min(chunk.length, limit - sent);
        if (take > 0) {
          to.write(take === chunk.length ? chunk : chunk.subarray(0, take));
          sent += take;
        }
        if (sent >= limit) return fire(f);
        if (f.bytesPerSecond) {
          // Pause long enough that the average stays under the cap.
          from.pause();
          setTimeout(() => fired || from.resume(), Math.ceil((chunk.length / f.bytesPerSecond) * 1000));
        }
      });
      from.on("end", () => fired || to.end());
    };
    upstream.on("connect", () => {
      pipe(client, upstream, "up");
      pipe(upstream, client, "down");
      if (limitFor(fault, "up") === 0 || limitFor(fault, "down") === 0) fire(fault);
      client.resume();
    });
    upstream.on("error", () => client.destroy());
    client.on("close", () => fired || upstream.destroy());
    upstream.on("close", () => fired || client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    setFault(f) {
      fault = f;
      generation++;
    },
    stats: () => ({ connections, triggered, open: open.size }),
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
