import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { buildConsole, CONSOLE_OUT } from "../../scripts/build-console";
import { CONSOLE_SESSION_TTL_MS } from "../../src/domain/admin/console-sessions.service";
import { ADMIN_KEY, createHarness, type Harness, inProcessOnly, sampleContent } from "../support/harness";

// The admin console's API: session sign-in/out (cookie + CSRF), overview, usage, file search,
// rename and a tenant's webhooks as the admin sees them. The browser tests drive the same routes.
let h: Harness;
/** The server's own origin as a browser on its page would send it. */
let ORIGIN = "";
beforeAll(async () => {
  h = await createHarness({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: true });
  ORIGIN = h.server?.url ?? "http://localhost";
});
afterAll(() => h.close());

async function signIn(): Promise<string> {
  const r = await h.req("POST", "/api/v1/admin/session", { key: ADMIN_KEY });
  expect(r.status).toBe(201);
  const set = r.headers.get("set-cookie")!;
  return /sb_console=([^;]+)/.exec(set)![1]!;
}
const withCookie = (id: string, extra: Record<string, string> = {}) => ({ cookie: `sb_console=${id}`, ...extra });

async function upload(key: string, name: string, size: number, context?: string) {
  const r = await h.json("POST", "/api/v1/upload/request", {
    key,
    body: { fileType: "image/png", fileName: name, fileSizeBytes: size, context },
  });
  expect(r.status).toBe(200);
  const put = await h.json("PUT", r.body.presignedUrl, { key, body: sampleContent("image/png", size) });
  expect(put.body.processingStatus).toBe("completed");
  return r.body.fileId as string;
}

describe("console session", () => {
  test("sign-in sets an HttpOnly SameSite=Strict cookie holding a random id, stored only hashed", async () => {
    const r = await h.req("POST", "/api/v1/admin/session", { key: ADMIN_KEY });
    expect(r.status).toBe(201);
    const set = r.headers.get("set-cookie")!;
    expect(set).toMatch(/^sb_console=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/);
    const id = /sb_console=([^;]+)/.exec(set)![1]!;
    expect(set).not.toContain(ADMIN_KEY);
    const rows = await h.rt.conn.rows<{ id_hash: string }>(sql`SELECT id_hash FROM console_sessions`);
    expect(rows.some((x) => x.id_hash === new Bun.CryptoHasher("sha256").update(id).digest("hex"))).toBe(true);
    expect(rows.some((x) => x.id_hash === id)).toBe(false);
    // HTTPS as seen by a TLS proxy: the cookie is Secure.
    const s = await h.req("POST", "/api/v1/admin/session", {
      key: ADMIN_KEY,
      headers: { "x-forwarded-proto": "https" },
    });
    expect(s.headers.get("set-cookie")).toEndWith("; Secure");
  });

  test("a session needs the admin key: a wrong key or a cookie alone cannot open one", async () => {
    expect((await h.req("POST", "/api/v1/admin/session", { key: "sk_admin_wrong_wrong_wrong" })).status).toBe(401);
    const id = await signIn();
    const r = await h.req("POST", "/api/v1/admin/session", { headers: withCookie(id, { origin: ORIGIN }) });
    expect(r.status).toBe(401);
  });

  test("the cookie authenticates admin reads; state changes need this server's Origin", async () => {
    const id = await signIn();
    const me = await h.json("GET", "/api/v1/admin/session", { headers: withCookie(id) });
    expect(me.body).toMatchObject({ authenticated: true, via: "session" });
    expect((await h.req("GET", "/api/v1/admin/tenants", { headers: withCookie(id) })).status).toBe(200);
    const body = { name: `csrf-${Date.now()}` };
    const noOrigin = await h.json("POST", "/api/v1/admin/tenants", { headers: withCookie(id), body });
    expect(noOrigin.status).toBe(403);
    expect(noOrigin.body.error.code).toBe("FORBIDDEN");
    const foreign = await h.json("POST", "/api/v1/admin/tenants", {
      headers: withCookie(id, { origin: "http://localhost:9999" }),
      body,
    });
    expect(foreign.status).toBe(403);
    expect(
      (await h.json("GET", "/api/v1/admin/tenants?limit=100", { key: ADMIN_KEY })).body.tenants,
    ).not.toContainEqual(expect.objectContaining({ name: body.name }));
    const ok = await h.json("POST", "/api/v1/admin/tenants", { headers: withCookie(id, { origin: ORIGIN }), body });
    expect(ok.status).toBe(201);
    expect(ok.body.apiKey).toStartWith("sk_live_");
  });

  test("a cookie does not authenticate tenant routes", async () => {
    const id = await signIn();
    expect((await h.req("GET", "/api/v1/files", { headers: withCookie(id) })).status).toBe(401);
  });

  test("sign-out revokes the session at once; an unknown session is refused", async () => {
    const id = await signIn();
    const out = await h.req("DELETE", "/api/v1/admin/session", { headers: withCookie(id, { origin: ORIGIN }) });
    expect(out.status).toBe(200);
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
    expect((await h.req("GET", "/api/v1/admin/tenants", { headers: withCookie(id) })).status).toBe(401);
    expect((await h.req("GET", "/api/v1/admin/tenants", { headers: withCookie("garbage") })).status).toBe(401);
    // Sign-in and sign-out are in the audit trail, like every admin action (never the session id).
    const audit = (await h.json("GET", "/api/v1/admin/audit?limit=100", { key: ADMIN_KEY })).body;
    const actions = audit.entries.map((e: { action: string }) => e.action);
    expect(actions).toContain("console.session.open");
    expect(actions).toContain("console.session.close");
    expect(JSON.stringify(audit)).not.toContain(id);
  });

  inProcessOnly("moves the ManualClock past the session's expiry")("an expired session is refused", async () => {
    const old = await signIn();
    expect((await h.req("GET", "/api/v1/admin/tenants", { headers: withCookie(old) })).status).toBe(200);
    h.clock.advance(CONSOLE_SESSION_TTL_MS + 1);
    expect((await h.req("GET", "/api/v1/admin/tenants", { headers: withCookie(old) })).status).toBe(401);
  });
});

describe("admin views", () => {
  test("overview and usage count what was uploaded; search, rename and webhooks work per tenant", async () => {
    const before = (await h.json("GET", "/api/v1/admin/overview", { key: ADMIN_KEY })).body;
    const t = await h.createTenant({ quotaBytes: 100_000 });
    const ws = await h.json("POST", `/api/v1/admin/tenants/${t.id}/workspaces`, {
      key: ADMIN_KEY,
      body: { name: "Docs", slug: "docs", quotaBytes: 50_000 },
    });
    const a = await upload(t.apiKey, "holiday-photo.png", 1000, "albums");
    await upload(t.apiKey, "logo.png", 2000);
    const o = (await h.json("GET", "/api/v1/admin/overview", { key: ADMIN_KEY })).body;
    expect(o.tenants).toBe(before.tenants + 1);
    expect(o.files).toBe(before.files + 2);
    expect(o.storedBytes).toBe(before.storedBytes + 3000);
    expect(o.uploadsLast24h).toBe(before.uploadsLast24h + 2);
    expect(o.backend).toEqual({ name: expect.any(String), status: "ok" });
    expect(o.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(o.uptimeSeconds).toBeGreaterThanOrEqual(0);

    const u = (await h.json("GET", `/api/v1/admin/usage?days=7&tenantId=${t.id}`, { key: ADMIN_KEY })).body;
    expect(u.tenants).toEqual([
      { id: t.id, name: expect.any(String), quotaBytes: 100_000, usedBytes: 3000, fileCount: 2 },
    ]);
    expect(u.workspaces).toEqual([expect.objectContaining({ id: ws.body.id, usedBytes: 0, quotaBytes: 50_000 })]);
    expect(u.uploadsPerDay).toHaveLength(7);
    expect(u.uploadsPerDay.at(-1)).toMatchObject({ uploads: 2, bytes: 3000 });

    const byName = (await h.json("GET", `/api/v1/admin/tenants/${t.id}/files/search?q=HOLIDAY`, { key: ADMIN_KEY }))
      .body;
    expect(byName.files.map((f: { id: string }) => f.id)).toEqual([a]);
    const byCtx = (await h.json("GET", `/api/v1/admin/tenants/${t.id}/files/search?q=album`, { key: ADMIN_KEY })).body;
    expect(byCtx.files.map((f: { id: string }) => f.id)).toEqual([a]);
    const like = (await h.json("GET", `/api/v1/admin/tenants/${t.id}/files/search?q=%25`, { key: ADMIN_KEY })).body;
    expect(like.files).toEqual([]); // "%" is a literal, not a wildcard
    const search = async (query: string) =>
      (await h.json("GET", `/api/v1/admin/tenants/${t.id}/files/search?${query}`, { key: ADMIN_KEY })).body;
    const newest = (await search("sort=newest")).files.map((f: { id: string }) => f.id);
    const oldest = (await search("sort=oldest")).files.map((f: { id: string }) => f.id);
    expect(newest).toHaveLength(2);
    expect(oldest).toEqual([...newest].reverse());
    const p1 = await search("limit=1&sort=oldest");
    expect(p1.files.map((f: { id: string }) => f.id)).toEqual([oldest[0]]);
    const p2 = await search(`limit=1&sort=oldest&cursor=${p1.nextCursor}`);
    expect(p2.files.map((f: { id: string }) => f.id)).toEqual([oldest[1]]);
    expect(p2.nextCursor).toBeNull();
    const failed = (await h.json("GET", `/api/v1/admin/tenants/${t.id}/files/search?status=failed`, { key: ADMIN_KEY }))
      .body;
    expect(failed.files).toEqual([]);

    const renamed = await h.json("PATCH", `/api/v1/admin/tenants/${t.id}/files/${a}`, {
      key: ADMIN_KEY,
      body: { originalName: "beach.png" },
    });
    expect(renamed.body.originalName).toBe("beach.png");
    expect((await h.json("GET", `/api/v1/files/${a}`, { key: t.apiKey })).body.originalName).toBe("beach.png");

    const noEndpoints = await h.json("POST", `/api/v1/admin/tenants/${t.id}/webhooks/test`, { key: ADMIN_KEY });
    expect(noEndpoints.status).toBe(409);
    const ep = await h.json("POST", `/api/v1/admin/tenants/${t.id}/webhooks`, {
      key: ADMIN_KEY,
      body: { url: "http://127.0.0.1:9/hook" },
    });
    expect(ep.status).toBe(201);
    const listed = (await h.json("GET", `/api/v1/admin/tenants/${t.id}/webhooks`, { key: ADMIN_KEY })).body;
    expect(listed.webhooks.map((w: { id: string }) => w.id)).toEqual([ep.body.id]);
    const sent = (await h.json("POST", `/api/v1/admin/tenants/${t.id}/webhooks/test`, { key: ADMIN_KEY })).body;
    expect(sent.deliveries).toEqual([
      expect.objectContaining({ event: "webhook.test", status: "pending", attempts: 0 }),
    ]);
    const d = (await h.json("GET", `/api/v1/admin/tenants/${t.id}/webhooks/deliveries`, { key: ADMIN_KEY })).body;
    expect(d.deliveries[0]).toMatchObject({ id: sent.deliveries[0].id, url: "http://127.0.0.1:9/hook" });
    // The tenant sees the same delivery through its own API.
    const own = (await h.json("GET", "/api/v1/webhooks/deliveries", { key: t.apiKey })).body;
    expect(own.deliveries.map((x: { id: string }) => x.id)).toContain(sent.deliveries[0].id);
    const retry = await h.json(
      "POST",
      `/api/v1/admin/tenants/${t.id}/webhooks/deliveries/${sent.deliveries[0].id}/retry`,
      {
        key: ADMIN_KEY,
      },
    );
    expect(retry.status).toBe(409); // only dead deliveries are retried
    const trail = (await h.json("GET", `/api/v1/admin/audit?tenantId=${t.id}&limit=100`, { key: ADMIN_KEY })).body;
    expect(trail.entries.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(["tenant.file.rename", "webhook.create", "webhook.test"]),
    );
    const del = await h.json("DELETE", `/api/v1/admin/tenants/${t.id}/webhooks/${ep.body.id}`, { key: ADMIN_KEY });
    expect(del.body).toEqual({ success: true });
    expect((await h.json("GET", `/api/v1/admin/tenants/${t.id}/webhooks`, { key: ADMIN_KEY })).body.webhooks).toEqual(
      [],
    );
  });

  test("the console page and its files are served with a strict CSP, gzipped when asked", async () => {
    await buildConsole();
    for (const path of ["/console", "/console/"]) {
      const r = await h.req("GET", path);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toStartWith("text/html");
      expect(r.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(r.headers.get("content-security-policy")).toContain("connect-src 'self'");
      expect(await r.text()).toContain('<script type="module" src="/console/app.js">');
    }
    const js = await h.req("GET", "/console/app.js", { headers: { "accept-encoding": "gzip" } });
    expect(js.headers.get("content-encoding")).toBe("gzip");
    // In-process the body is the gzip stream itself; over real HTTP fetch has already inflated it.
    const raw = new Uint8Array(await js.arrayBuffer());
    const plain = raw[0] === 0x1f && raw[1] === 0x8b ? Bun.gunzipSync(raw) : raw;
    expect(new TextDecoder().decode(plain)).toBe(await Bun.file(`${CONSOLE_OUT}/app.js`).text());
    const again = await h.req("GET", "/console/app.js", { headers: { "if-none-match": js.headers.get("etag")! } });
    expect(again.status).toBe(304);
    expect((await h.req("GET", "/console/nope.js")).status).toBe(404);
  });
});

test("a console session spends its own rate-limit bucket, like a key", async () => {
  const r = await createHarness({ RATE_LIMIT_PER_SECOND: 0.001, RATE_LIMIT_BURST: 3 });
  try {
    const open = await r.req("POST", "/api/v1/admin/session", { key: ADMIN_KEY }); // the key's bucket
    const id = /sb_console=([^;]+)/.exec(open.headers.get("set-cookie") ?? "")?.[1] ?? "";
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await r.req("GET", "/api/v1/admin/overview", { headers: { cookie: `sb_console=${id}` } })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    // The admin key's own bucket is separate and still has budget.
    expect((await r.req("GET", "/api/v1/admin/overview", { key: ADMIN_KEY })).status).toBe(200);
  } finally {
    await r.close();
  }
});
