import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { tempDir } from "../support/harness";
import { LIVE_ADMIN_KEY, type LiveServer, serveUntilExit, startLiveServer } from "../support/live-server";
import { download, pngBytes, upload } from "../support/ops-client";
import { createTestPgDatabase, type TestPgDatabase } from "../support/pg";
import { productCommand, runCommand } from "../support/spawn-server";

// State every instance of a PostgreSQL deployment must share (docs/operations.md, "State shared
// by all instances"): the keys (checked at start-up), rate-limit buckets, console sessions, and
// the one-request-at-a-time rule of a tus upload. The instances share one database and, for the
// objects, one data dir with the local backend (the bucket of a real deployment).

const PUBLIC_URL = "http://sb.test";

interface Pair {
  db: TestPgDatabase;
  dir: string;
  env: Record<string, string>;
  a: LiveServer;
  b: LiveServer;
  close(): Promise<void>;
}

async function startPair(extra: Record<string, string> = {}): Promise<Pair> {
  const db = await createTestPgDatabase();
  const dir = tempDir("sb-shared-");
  const env = {
    DATABASE_URL: db.url,
    DATA_DIR: dir,
    MASTER_KEY: randomBytes(32).toString("base64"),
    URL_SIGNING_SECRET: randomBytes(32).toString("hex"),
    PUBLIC_URL,
    ...extra,
  };
  const a = await startLiveServer(env);
  const b = await startLiveServer(env);
  return {
    db,
    dir,
    env,
    a,
    b,
    async close() {
      await Promise.all([a.close(), b.close()]);
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `serve` expecting a refusal: it must exit without listening. */
async function serveRefused(env: Record<string, string>) {
  const r = await serveUntilExit(env);
  expect(r.listened).toBe(false);
  return r;
}

describe("start-up: every instance must hold the deployment's secrets", () => {
  let p: Pair;
  beforeAll(async () => {
    p = await startPair();
  }, 60_000);
  afterAll(() => p?.close());

  test("another MASTER_KEY is refused, naming MASTER_KEY", async () => {
    const r = await serveRefused({ ...p.env, DATA_DIR: tempDir(), MASTER_KEY: randomBytes(32).toString("base64") });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("MASTER_KEY does not match this database");
  });

  test("another URL_SIGNING_SECRET (or none, deriving it) is refused, naming URL_SIGNING_SECRET", async () => {
    const other = await serveRefused({ ...p.env, DATA_DIR: tempDir(), URL_SIGNING_SECRET: "x".repeat(32) });
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain("URL_SIGNING_SECRET does not match");
    const unset = await serveRefused({ ...p.env, DATA_DIR: tempDir(), URL_SIGNING_SECRET: "" });
    expect(unset.code).not.toBe(0);
    expect(unset.stderr).toContain("URL_SIGNING_SECRET does not match");
  });

  test("a new URL_SIGNING_SECRET with the old one as URL_SIGNING_SECRET_PREVIOUS is a hand-over: it starts", async () => {
    const next = "n".repeat(32);
    const c = await startLiveServer({
      ...p.env,
      URL_SIGNING_SECRET: next,
      URL_SIGNING_SECRET_PREVIOUS: p.env.URL_SIGNING_SECRET!,
    });
    expect((await fetch(`${c.url}/ready`)).status).toBe(200);
    await c.close();
  });

  test("admin rotate-master-key: refused with key files on PostgreSQL; through MASTER_KEY_PREVIOUS it re-wraps every file", async () => {
    const { apiKey } = await p.a.createTenant();
    const bytes = pngBytes(5000, 3);
    const fileId = await upload(p.a.url, apiKey, bytes);
    // After the hand-over above, the deployment's signing secret is the new one.
    const env = {
      ...p.env,
      URL_SIGNING_SECRET: "n".repeat(32),
      URL_SIGNING_SECRET_PREVIOUS: p.env.URL_SIGNING_SECRET!,
    };
    const files = await runCommand(productCommand("admin", "rotate-master-key"), { ...env, DATA_DIR: tempDir() });
    expect(files.code).toBe(1);
    expect(files.stderr).toContain("MASTER_KEY_PREVIOUS");
    const newKey = randomBytes(32).toString("base64");
    const viaEnv = await runCommand(productCommand("admin", "rotate-master-key"), {
      ...env,
      DATA_DIR: tempDir(),
      MASTER_KEY: newKey,
      MASTER_KEY_PREVIOUS: p.env.MASTER_KEY!,
    });
    expect(viaEnv.code).toBe(0);
    // The new key alone now reads the file; the old key alone is refused.
    const c = await startLiveServer({ ...env, MASTER_KEY: newKey }); // the pair's data dir holds the objects
    expect(Buffer.compare(Buffer.from((await download(c.url, apiKey, fileId)) ?? []), Buffer.from(bytes))).toBe(0);
    await c.close();
    const old = await serveRefused({ ...env, DATA_DIR: tempDir() });
    expect(old.stderr).toContain("MASTER_KEY does not match this database");
  });
});

describe("rate limits and console sessions are shared", () => {
  let p: Pair;
  let apiKey: string;
  beforeAll(async () => {
    p = await startPair({
      RATE_LIMIT_PER_SECOND: "0.01",
      RATE_LIMIT_BURST: "6",
      AUTH_FAILURE_LIMIT_PER_MINUTE: "1",
      AUTH_FAILURE_BURST: "4",
      TRUST_PROXY: "true",
    });
    // A tenant key of its own bucket: the admin key's bucket is spent by createTenant.
    apiKey = (await p.a.createTenant()).apiKey;
  }, 60_000);
  afterAll(() => p?.close());

  test("a key's bucket is one across instances: 6 requests alternating between them, then 429 on both", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const s = i % 2 === 0 ? p.a : p.b;
      statuses.push((await s.call("GET", "/api/v1/tenant/quota", { key: apiKey })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
  });

  test("concurrent requests on both instances never spend one token twice", async () => {
    const key = (await p.b.createTenant()).apiKey;
    const all = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? p.a : p.b).call("GET", "/api/v1/tenant/quota", { key })),
    );
    expect(all.filter((r) => r.status === 200)).toHaveLength(6);
    expect(all.filter((r) => r.status === 429)).toHaveLength(14);
  });

  test("failed authentications of one address count on every instance", async () => {
    const from = { "x-forwarded-for": "10.9.8.7" };
    for (let i = 0; i < 4; i++) {
      const s = i % 2 === 0 ? p.a : p.b;
      expect((await s.call("GET", "/api/v1/tenant/quota", { key: `sk_live_wrong_${i}`, headers: from })).status).toBe(
        401,
      );
    }
    // Out of budget on both: even a valid key is refused from that address; others are not.
    const c = (await p.a.createTenant()).apiKey;
    for (const s of [p.a, p.b])
      expect((await s.call("GET", "/api/v1/tenant/quota", { key: c, headers: from })).status).toBe(429);
    expect(
      (await p.b.call("GET", "/api/v1/tenant/quota", { key: c, headers: { "x-forwarded-for": "10.9.8.8" } })).status,
    ).toBe(200);
  });

  test("a console session opened on one instance works on the other, and signing out there ends it everywhere", async () => {
    const open = await p.a.call("POST", "/api/v1/admin/session", { key: LIVE_ADMIN_KEY });
    expect(open.status).toBe(201);
    const id = /sb_console=([^;]+)/.exec(open.res.headers.get("set-cookie") ?? "")?.[1];
    expect(id).toBeDefined();
    const cookie = { cookie: `sb_console=${id}` };
    const me = await p.b.call("GET", "/api/v1/admin/session", { headers: cookie });
    expect(me.body).toMatchObject({ authenticated: true, via: "session" });
    expect((await p.b.call("GET", "/api/v1/admin/tenants", { headers: cookie })).status).toBe(200);
    const out = await p.b.call("DELETE", "/api/v1/admin/session", { headers: { ...cookie, origin: PUBLIC_URL } });
    expect(out.status).toBe(200);
    expect((await p.a.call("GET", "/api/v1/admin/tenants", { headers: cookie })).status).toBe(401);
  });
});

describe("tus: one request per upload across instances", () => {
  let p: Pair;
  beforeAll(async () => {
    p = await startPair();
  }, 60_000);
  afterAll(() => p?.close());

  const tus = { "tus-resumable": "1.0.0" };
  const meta = (name: string) =>
    `filename ${Buffer.from(name).toString("base64")},filetype ${Buffer.from("image/png").toString("base64")}`;

  /** A PATCH whose body the test feeds by hand: `first` bytes now, the rest never (until cancelled). */
  function heldPatch(s: LiveServer, key: string, fileId: string, first: Uint8Array) {
    let ctl!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        ctl = c;
        c.enqueue(first);
      },
    });
    const res = fetch(`${s.url}/api/v1/uploads/tus/${fileId}`, {
      method: "PATCH",
      headers: {
        ...tus,
        authorization: `Bearer ${key}`,
        "upload-offset": "0",
        "content-type": "application/offset+octet-stream",
      },
      body,
      duplex: "half",
    }).catch(() => null);
    return { res, cancel: () => ctl.error(new Error("client gone")) };
  }

  test("a PATCH in flight on A: HEAD on B takes over and reports what A received; a PATCH on B can't append beside it", async () => {
    const { apiKey } = await p.a.createTenant();
    const bytes = pngBytes(3 * 1024 * 1024 + 5, 7);
    const created = await p.a.call("POST", "/api/v1/uploads/tus", {
      key: apiKey,
      headers: { ...tus, "upload-length": String(bytes.length), "upload-metadata": meta("x.png") },
    });
    expect(created.status).toBe(201);
    const fileId = new URL(created.res.headers.get("location")!, PUBLIC_URL).pathname.split("/").pop()!;

    const sent = 300_000;
    const first = heldPatch(p.a, apiKey, fileId, bytes.subarray(0, sent));
    await Bun.sleep(1000); // A has read what was sent
    // A second writer at the same offset, on B: A's request is asked to stop and records its
    // bytes; B then sees the offset moved and refuses (never two appends at once).
    const rival = await p.b.call("PATCH", `/api/v1/uploads/tus/${fileId}`, {
      key: apiKey,
      headers: { ...tus, "upload-offset": "0", "content-type": "application/offset+octet-stream" },
      body: bytes.subarray(0, 1000),
    });
    expect(rival.status).toBe(409);
    const head = await p.b.call("HEAD", `/api/v1/uploads/tus/${fileId}`, { key: apiKey, headers: tus });
    expect(head.status).toBe(200);
    expect(head.res.headers.get("upload-offset")).toBe(String(sent));
    first.cancel();
    await first.res;

    const rest = await p.b.call("PATCH", `/api/v1/uploads/tus/${fileId}`, {
      key: apiKey,
      headers: { ...tus, "upload-offset": String(sent), "content-type": "application/offset+octet-stream" },
      body: bytes.subarray(sent),
    });
    expect(rest.status).toBe(204);
    expect(rest.res.headers.get("upload-offset")).toBe(String(bytes.length));
    const back = await download(p.a.url, apiKey, fileId);
    expect(Buffer.compare(Buffer.from(back ?? []), Buffer.from(bytes))).toBe(0);
  });
});
