import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { ADMIN_KEY, tempDir } from "../support/harness";
import { productCommand, type Spawned, spawnServer } from "../support/spawn-server";

/** The failed-authentication limit counts the socket's address on a real server (no TRUST_PROXY). */
let server: Spawned;
let dir: string;
beforeAll(async () => {
  dir = tempDir("sb-rl-");
  server = await spawnServer(productCommand("serve"), {
    env: { DATA_DIR: dir, ADMIN_API_KEY: ADMIN_KEY, AUTH_FAILURE_LIMIT_PER_MINUTE: "1", AUTH_FAILURE_BURST: "3" },
  });
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("failed authentications from one socket address: 401 × burst, then 429; X-Forwarded-For is not trusted", async () => {
  const get = (key: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/api/v1/tenant/quota`, { headers: { authorization: `Bearer ${key}`, ...headers } });
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await get("sk_live_wrong")).status);
  expect(statuses).toEqual([401, 401, 401]);
  const refused = await get("sk_live_wrong");
  expect(refused.status).toBe(429);
  expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  // A made-up X-Forwarded-For does not give a new identity: the socket address counts.
  expect((await get("sk_live_wrong", { "x-forwarded-for": "198.51.100.9" })).status).toBe(429);
  expect((await fetch(`${server.url}/health`)).status).toBe(200);
});
