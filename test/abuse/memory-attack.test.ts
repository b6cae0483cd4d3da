import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ADMIN_KEY, tempDir } from "../support/harness";
import { productCommand, type Spawned, spawnServer } from "../support/spawn-server";

/**
 * Unauthenticated memory exhaustion, against the real server process: many concurrent large
 * bodies without a key (chunked JSON, text with a real Content-Length, octet-stream) must all be
 * refused without being read, and the server's peak RSS must stay bounded. Before bodies were
 * read after auth, 24 such ~95 MB requests drove RSS to 2.8 GiB.
 */
const CONCURRENT = 24;
const BODY_BYTES = 64 * 1024 * 1024;
const RSS_BOUND_MIB = 250;

let server: Spawned;
let dir: string;
beforeAll(async () => {
  dir = tempDir("sb-mem-");
  server = await spawnServer(productCommand("serve"), {
    env: { DATA_DIR: dir, ADMIN_API_KEY: ADMIN_KEY },
  });
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function statusKiB(field: "VmHWM" | "VmRSS"): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${server.proc.pid}/status`, "utf8"));
  return Number(m?.[1] ?? Number.NaN);
}

/** A generated body of `size` bytes, never held whole by the client either. */
function generated(size: number, head: string): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= size) return c.close();
      const n = Math.min(256 * 1024, size - sent);
      const chunk = new Uint8Array(n).fill(0x61);
      if (sent === 0) chunk.set(new TextEncoder().encode(head));
      sent += n;
      c.enqueue(chunk);
    },
  });
}

async function attack(i: number, key?: string): Promise<string> {
  const kind = i % 3;
  const [path, headers, head]: [string, Record<string, string>, string] =
    kind === 0
      ? ["/api/v1/upload/request", { "content-type": "application/json" }, '{"fileName":"']
      : kind === 1
        ? ["/api/v1/workspaces", { "content-type": "text/plain", "content-length": String(BODY_BYTES) }, "x"]
        : ["/api/v1/webhooks", { "content-type": "application/octet-stream" }, "x"];
  try {
    const res = await fetch(server.url + path, {
      method: "POST",
      headers: key ? { ...headers, authorization: `Bearer ${key}` } : headers,
      body: generated(BODY_BYTES, head),
      duplex: "half",
    });
    await res.arrayBuffer();
    return String(res.status);
  } catch (err) {
    // The server may close the connection once it has answered, before the client sent it all.
    return `closed:${(err as Error).message}`;
  }
}

test(`${CONCURRENT} concurrent unauthenticated ${BODY_BYTES >> 20} MiB bodies: all refused, server RSS stays under ${RSS_BOUND_MIB} MiB`, async () => {
  const before = statusKiB("VmRSS");
  const results = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => attack(i)));
  const peakMiB = statusKiB("VmHWM") / 1024;
  const afterMiB = statusKiB("VmRSS") / 1024;
  console.log(
    `memory attack: rss before ${Math.round(before / 1024)} MiB, peak ${Math.round(peakMiB)} MiB, after ${Math.round(afterMiB)} MiB; answers ${[...new Set(results)].join(", ")}`,
  );
  for (const r of results) expect(["401", "413"]).toContain(r);
  expect(peakMiB).toBeLessThan(RSS_BOUND_MIB);
  // With a valid key the bodies are read, but only up to the 256 KiB cap: 413, RSS still bounded.
  const created = await fetch(`${server.url}/api/v1/admin/tenants`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "attacker" }),
  });
  const { apiKey } = (await created.json()) as { apiKey: string };
  const keyed = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => attack(i, apiKey)));
  const keyedPeakMiB = statusKiB("VmHWM") / 1024;
  console.log(`with a valid key: peak ${Math.round(keyedPeakMiB)} MiB; answers ${[...new Set(keyed)].join(", ")}`);
  for (const r of keyed) expect(r).toBe("413");
  expect(keyedPeakMiB).toBeLessThan(RSS_BOUND_MIB);
  // The server still serves.
  const health = await fetch(`${server.url}/health`);
  expect(health.status).toBe(200);
}, 120_000);
