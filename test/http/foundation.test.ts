import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { type ApiScenario, runApiScenarios } from "../support/api-scenario";
import { ADMIN_KEY, createHarness, type Harness } from "../support/harness";

let h: Harness;
let tenant: { id: string; apiKey: string };
beforeAll(async () => {
  h = await createHarness();
  tenant = await h.createTenant({ name: "acme", quotaBytes: 1000 });
});
afterAll(() => h.close());

const UNKNOWN = "00000000-0000-4000-8000-000000000000";

type Key = "admin" | "tenant" | "none" | "bogus";
const scenarios: ApiScenario<Key>[] = [
  {
    name: "health",
    method: "GET",
    url: "/health",
    key: "none",
    status: 200,
    expect: (b) => expect(b).toEqual({ status: "ok" }),
  },
  {
    name: "ready",
    method: "GET",
    url: "/ready",
    key: "none",
    status: 200,
    expect: (b) => expect(b.checks).toEqual({ database: "ok", storage: "ok" }),
  },
  { name: "unknown route", method: "GET", url: "/api/v1/nope", key: "tenant", status: 404, code: "NOT_FOUND" },
  {
    name: "openapi json",
    method: "GET",
    url: "/docs/json",
    key: "none",
    status: 200,
    expect: (b) => {
      expect(b.paths["/api/v1/upload/request"]).toBeDefined();
      expect(b.components.securitySchemes.bearerAuth.scheme).toBe("bearer");
    },
  },
  // tenant routes
  {
    name: "tenant info",
    method: "GET",
    url: "/api/v1/tenant/info",
    key: "tenant",
    status: 200,
    expect: (b) => {
      expect(b.name).toBe("acme");
      expect(b.allowedFileTypes).toContain("image/jpeg");
      expect(new Date(b.createdAt).toISOString()).toBe(b.createdAt);
      expect(b.webhookSecret).toStartWith("whsec_");
    },
  },
  {
    name: "tenant quota",
    method: "GET",
    url: "/api/v1/tenant/quota",
    key: "tenant",
    status: 200,
    expect: (b) =>
      expect(b).toEqual({ quotaBytes: 1000, usedBytes: 0, availableBytes: 1000, usagePercent: 0, reservedBytes: 0 }),
  },
  {
    name: "tenant info without key",
    method: "GET",
    url: "/api/v1/tenant/info",
    key: "none",
    status: 401,
    code: "UNAUTHORIZED",
  },
  {
    name: "tenant info with wrong key",
    method: "GET",
    url: "/api/v1/tenant/info",
    key: "bogus",
    status: 401,
    code: "UNAUTHORIZED",
  },
  {
    name: "tenant info with admin key",
    method: "GET",
    url: "/api/v1/tenant/info",
    key: "admin",
    status: 401,
    code: "UNAUTHORIZED",
  },
  // admin routes
  {
    name: "no key and an invalid body → 401, not 400",
    method: "POST",
    url: "/api/v1/upload/request",
    key: "none",
    body: {},
    status: 401,
    code: "UNAUTHORIZED",
  },
  {
    name: "no key on an admin route with an invalid body → 401",
    method: "POST",
    url: "/api/v1/admin/tenants",
    key: "none",
    body: {},
    status: 401,
    code: "UNAUTHORIZED",
  },
  {
    name: "wrong key with a malformed id → 401",
    method: "GET",
    url: "/api/v1/admin/tenants/not-a-uuid",
    key: "bogus",
    status: 401,
    code: "UNAUTHORIZED",
  },
  {
    name: "JSON body over 256 KiB → 413",
    method: "POST",
    url: "/api/v1/admin/tenants",
    key: "admin",
    body: { name: "x", pad: "y".repeat(300_000) },
    status: 413,
    code: "PAYLOAD_TOO_LARGE",
  },
  {
    name: "admin with tenant key",
    method: "GET",
    url: "/api/v1/admin/tenants",
    key: "tenant",
    status: 401,
    code: "UNAUTHORIZED",
  },
  {
    name: "admin without key",
    method: "POST",
    url: "/api/v1/admin/tenants",
    key: "none",
    body: { name: "x" },
    status: 401,
    code: "UNAUTHORIZED",
  },
  {
    name: "create tenant: duplicate name",
    method: "POST",
    url: "/api/v1/admin/tenants",
    key: "admin",
    body: { name: "acme" },
    status: 409,
    code: "CONFLICT",
  },
  {
    name: "create tenant: empty name",
    method: "POST",
    url: "/api/v1/admin/tenants",
    key: "admin",
    body: { name: "" },
    status: 400,
    code: "VALIDATION_ERROR",
    expect: (b) => expect(b.error.details.errors[0].path).toBe("name"),
  },
  {
    name: "create tenant: name too long",
    method: "POST",
    url: "/api/v1/admin/tenants",
    key: "admin",
    body: { name: "x".repeat(101) },
    status: 400,
    code: "VALIDATION_ERROR",
  },
  {
    name: "create tenant: negative quota",
    method: "POST",
    url: "/api/v1/admin/tenants",
    key: "admin",
    body: { name: "neg", quotaBytes: -1 },
    status: 400,
    code: "VALIDATION_ERROR",
  },
  {
    name: "create tenant: bad mime",
    method: "POST",
    url: "/api/v1/admin/tenants",
    key: "admin",
    body: { name: "mime", allowedFileTypes: ["not a mime"] },
    status: 400,
    code: "VALIDATION_ERROR",
  },
  {
    name: "create tenant: malformed json",
    method: "POST",
    url: "/api/v1/admin/tenants",
    key: "admin",
    rawBody: '{"name":',
    status: 400,
    code: "VALIDATION_ERROR",
  },
  {
    name: "create tenant: defaults",
    method: "POST",
    url: "/api/v1/admin/tenants",
    key: "admin",
    body: { name: "defaults" },
    status: 201,
    expect: (b) => {
      expect(b.apiKey).toMatch(/^sk_live_[A-Za-z0-9_-]{43}$/);
      expect(b.quotaBytes).toBe(524288000);
      expect(b.allowedFileTypes).toEqual([
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "image/avif",
        "application/pdf",
      ]);
    },
  },
  {
    name: "get tenant",
    method: "GET",
    url: () => `/api/v1/admin/tenants/${tenant.id}`,
    key: "admin",
    status: 200,
    expect: async (b) => {
      expect(b.name).toBe("acme");
      expect(b.keyPrefix).toStartWith("sk_live_");
      // ISO 8601, the same instant /tenant/info shows (it used to be epoch seconds here).
      expect(new Date(b.createdAt).toISOString()).toBe(b.createdAt);
      expect(new Date(b.updatedAt).toISOString()).toBe(b.updatedAt);
      expect(Date.parse(b.createdAt)).toBe((await h.rt.repos.tenants.byId(tenant.id))!.createdAt);
      expect(b.quota).toEqual({
        quotaBytes: 1000,
        usedBytes: 0,
        availableBytes: 1000,
        usagePercent: 0,
        reservedBytes: 0,
      });
      expect(b.apiKey).toBeUndefined();
    },
  },
  {
    name: "get unknown tenant",
    method: "GET",
    url: `/api/v1/admin/tenants/${UNKNOWN}`,
    key: "admin",
    status: 404,
    code: "NOT_FOUND",
  },
  {
    name: "get tenant: bad id",
    method: "GET",
    url: "/api/v1/admin/tenants/not-a-uuid",
    key: "admin",
    status: 400,
    code: "VALIDATION_ERROR",
  },
  {
    name: "tenant quota (admin)",
    method: "GET",
    url: () => `/api/v1/admin/tenants/${tenant.id}/quota`,
    key: "admin",
    status: 200,
    expect: (b) => expect(b.quotaBytes).toBe(1000),
  },
  {
    name: "regenerate unknown",
    method: "POST",
    url: `/api/v1/admin/tenants/${UNKNOWN}/regenerate-key`,
    key: "admin",
    status: 404,
    code: "NOT_FOUND",
  },
  {
    name: "patch unknown",
    method: "PATCH",
    url: `/api/v1/admin/tenants/${UNKNOWN}`,
    key: "admin",
    body: { quotaBytes: 5 },
    status: 404,
    code: "NOT_FOUND",
  },
  {
    name: "delete unknown",
    method: "DELETE",
    url: `/api/v1/admin/tenants/${UNKNOWN}`,
    key: "admin",
    status: 404,
    code: "NOT_FOUND",
  },
];

runApiScenarios(
  "API scenarios",
  () => ({
    h,
    keys: {
      admin: ADMIN_KEY,
      tenant: tenant.apiKey,
      none: null,
      bogus: "sk_live_bogusbogusbogusbogusbogusbogusbogusbogus12",
    },
  }),
  scenarios,
);

describe("tenant lifecycle", () => {
  test("regenerate-key: old key stops working at once, new one works", async () => {
    const t = await h.createTenant();
    const r = await h.json("POST", `/api/v1/admin/tenants/${t.id}/regenerate-key`, { key: ADMIN_KEY });
    expect(r.status).toBe(200);
    expect(r.body.tenantId).toBe(t.id);
    expect(r.body.message).toContain("regenerated");
    expect(r.body.apiKey).not.toBe(t.apiKey);
    expect((await h.req("GET", "/api/v1/tenant/info", { key: t.apiKey })).status).toBe(401);
    expect((await h.req("GET", "/api/v1/tenant/info", { key: r.body.apiKey })).status).toBe(200);
  });

  test("keys are stored only as SHA-256 hashes", async () => {
    const t = await h.createTenant();
    const [row] = await h.rt.conn.rows<Record<string, unknown>>(sql`SELECT * FROM tenants WHERE id = ${t.id}`);
    expect(JSON.stringify(row)).not.toContain(t.apiKey);
    expect(row?.api_key_hash).toBe(new Bun.CryptoHasher("sha256").update(t.apiKey).digest("hex"));
    const dump = await h.rt.conn.rows(sql`SELECT * FROM settings`);
    expect(JSON.stringify(dump)).not.toContain(ADMIN_KEY);
  });

  test("list tenants pages with a cursor and reports total", async () => {
    for (let i = 0; i < 3; i++) await h.createTenant();
    const seen = new Set<string>();
    let cursor: string | null = null;
    let total = 0;
    do {
      const r: any = await h.json("GET", `/api/v1/admin/tenants?limit=2${cursor ? `&cursor=${cursor}` : ""}`, {
        key: ADMIN_KEY,
      });
      expect(r.status).toBe(200);
      expect(r.body.tenants.length).toBeLessThanOrEqual(2);
      for (const t of r.body.tenants) {
        expect(seen.has(t.id)).toBe(false);
        seen.add(t.id);
        expect(Object.keys(t).sort()).toEqual([
          "allowedFileTypes",
          "createdAt",
          "id",
          "keyPrefix",
          "name",
          "planId",
          "quotaBytes",
          "reservedBytes",
          "updatedAt",
          "usedBytes",
        ]);
      }
      total = r.body.total;
      cursor = r.body.nextCursor;
    } while (cursor);
    expect(seen.size).toBe(total);
    const bad = await h.json("GET", "/api/v1/admin/tenants?cursor=garbage", { key: ADMIN_KEY });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("VALIDATION_ERROR");
  });

  test("patch updates name, quota and allowed types; null opts into any type", async () => {
    const t = await h.createTenant();
    const r = await h.json("PATCH", `/api/v1/admin/tenants/${t.id}`, {
      key: ADMIN_KEY,
      body: { name: `renamed-${t.id}`, quotaBytes: 42, allowedFileTypes: ["text/plain"] },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: `renamed-${t.id}`, quotaBytes: 42, allowedFileTypes: ["text/plain"] });
    const info = await h.json("GET", "/api/v1/tenant/info", { key: t.apiKey });
    expect(info.body.allowedFileTypes).toEqual(["text/plain"]);
    const reset = await h.json("PATCH", `/api/v1/admin/tenants/${t.id}`, {
      key: ADMIN_KEY,
      body: { allowedFileTypes: null },
    });
    expect(reset.body.allowedFileTypes).toBeNull();
    expect((await h.json("GET", "/api/v1/tenant/info", { key: t.apiKey })).body.allowedFileTypes).toBeNull();
    const dup = await h.json("PATCH", `/api/v1/admin/tenants/${t.id}`, { key: ADMIN_KEY, body: { name: "acme" } });
    expect(dup.status).toBe(409);
  });

  test("delete tenant: its key stops working", async () => {
    const t = await h.createTenant();
    const r = await h.json("DELETE", `/api/v1/admin/tenants/${t.id}`, { key: ADMIN_KEY });
    expect(r.body).toEqual({ success: true });
    expect((await h.req("GET", "/api/v1/tenant/info", { key: t.apiKey })).status).toBe(401);
    expect((await h.req("GET", `/api/v1/admin/tenants/${t.id}`, { key: ADMIN_KEY })).status).toBe(404);
  });

  test("responses carry X-Request-Id and CORS headers; preflight is answered", async () => {
    const res = await h.req("OPTIONS", "/_internal/upload/tenants/x/files/y/z.png", {
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "PUT",
        "access-control-request-headers": "authorization,content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("access-control-allow-headers")).toContain("X-Workspace-Id");
    const get = await h.req("GET", "/health", { headers: { origin: "https://app.example" } });
    expect(get.headers.get("x-request-id")).toBeTruthy();
    expect(get.headers.get("access-control-expose-headers")).toContain("Content-Range");
  });
});

describe("CORS origins", () => {
  test("only configured origins are allowed", async () => {
    const h2 = await createHarness({ CORS_ORIGINS: "https://good.example" });
    try {
      const ok = await h2.req("GET", "/health", { headers: { origin: "https://good.example" } });
      expect(ok.headers.get("access-control-allow-origin")).toBe("https://good.example");
      const bad = await h2.req("GET", "/health", { headers: { origin: "https://evil.example" } });
      expect(bad.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await h2.close();
    }
  });
});
