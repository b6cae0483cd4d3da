import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { ADMIN_KEY, createHarness, type Harness, inProcessOnly } from "../support/harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const audit = async (query = "") => {
  const r = await h.json("GET", `/api/v1/admin/audit${query}`, { key: ADMIN_KEY });
  expect(r.status).toBe(200);
  return r.body as { entries: any[]; nextCursor: string | null };
};

describe("audit log", () => {
  test("one row per admin action, with actor, action, target and tenant; secrets never stored", async () => {
    const t = await h.createTenant({ name: "audited" });
    const plan = await h.json("POST", "/api/v1/admin/plans", {
      key: ADMIN_KEY,
      body: { name: "pro", quotaBytes: 10_000_000, maxFileSizeBytes: 1_000_000 },
    });
    const steps: [string, string, unknown?][] = [
      ["PATCH", `/api/v1/admin/tenants/${t.id}`, { quotaBytes: 123456 }],
      ["POST", `/api/v1/admin/tenants/${t.id}/regenerate-key`],
      ["POST", `/api/v1/admin/tenants/${t.id}/recalculate-usage`],
      ["POST", `/api/v1/admin/tenants/${t.id}/workspaces`, { name: "ws one", slug: "ws-one" }],
      ["PUT", `/api/v1/admin/tenants/${t.id}/plan`, { planId: plan.body.id }],
      ["DELETE", `/api/v1/admin/tenants/${t.id}?force=true`],
    ];
    for (const [method, path, body] of steps) {
      const r = await h.req(method, path, { key: ADMIN_KEY, body });
      expect({ path, status: r.status, body: r.status < 300 ? null : await r.text() }).toEqual({
        path,
        status: r.status < 300 ? r.status : 200,
        body: null,
      });
    }
    // A failed action changes nothing and leaves no row.
    expect((await h.req("DELETE", `/api/v1/admin/tenants/${t.id}`, { key: ADMIN_KEY })).status).toBe(404);

    const { entries } = await audit(`?tenantId=${t.id}&limit=100`);
    expect(entries.map((e) => e.action).reverse()).toEqual([
      "tenant.create",
      "tenant.update",
      "tenant.key.regenerate",
      "tenant.usage.recalculate",
      "workspace.create",
      "tenant.plan.assign",
      "tenant.delete",
    ]);
    for (const e of entries) {
      expect(e.actor).toEqual({ type: "admin", id: null });
      expect(e.tenantId).toBe(t.id);
      expect(e.target).toStartWith(`tenants/${t.id}`);
      expect(Date.parse(e.createdAt)).toBeGreaterThan(0);
    }
    expect(entries.find((e) => e.action === "tenant.update").details).toEqual({ quotaBytes: 123456 });
    expect(entries.find((e) => e.action === "workspace.create").target).toMatch(
      new RegExp(`^tenants/${t.id}/workspaces/[0-9a-f-]{36}$`),
    );
    const planRows = (await audit("?action=plan.create")).entries;
    expect(planRows.map((e) => e.target)).toContain(`plans/${plan.body.id}`);
    const dump = JSON.stringify(await h.rt.conn.rows(sql`SELECT * FROM audit_log`));
    expect(dump).not.toContain(t.apiKey);
    expect(dump).not.toContain(ADMIN_KEY);
  });

  test("key changes made with a tenant key name the tenant as actor", async () => {
    const t = await h.createTenant();
    const k = await h.json("POST", "/api/v1/tenant/keys", { key: t.apiKey, body: { userId: "u1", scopes: ["read"] } });
    expect(k.status).toBe(201);
    expect((await h.req("POST", "/api/v1/tenant/webhook-secret/rotate", { key: t.apiKey })).status).toBe(200);
    expect((await h.req("DELETE", `/api/v1/tenant/keys/${k.body.id}`, { key: t.apiKey })).status).toBe(200);
    const { entries } = await audit(`?tenantId=${t.id}&actorType=tenant`);
    expect(entries.map((e) => e.action).reverse()).toEqual([
      "user-key.create",
      "tenant.webhook-secret.rotate",
      "user-key.revoke",
    ]);
    expect(entries.every((e) => e.actor.type === "tenant" && e.actor.id === t.id)).toBe(true);
    expect(entries[0].target).toBe(`tenant/keys/${k.body.id}`);
    expect(JSON.stringify(entries)).not.toContain(k.body.key ?? "sk_user_");
  });

  inProcessOnly("moves the ManualClock between entries")(
    "cursor paging walks every row once; time filters bound it; reads are not audited",
    async () => {
      const t = await h.createTenant();
      for (let i = 0; i < 5; i++) {
        h.clock.advance(1000);
        await h.req("PATCH", `/api/v1/admin/tenants/${t.id}`, { key: ADMIN_KEY, body: { quotaBytes: 1000 + i } });
        await h.req("GET", `/api/v1/admin/tenants/${t.id}`, { key: ADMIN_KEY });
      }
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const page = await audit(`?tenantId=${t.id}&action=tenant.update&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
        expect(page.entries.length).toBeLessThanOrEqual(2);
        seen.push(...page.entries.map((e) => e.details.quotaBytes));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual([1004, 1003, 1002, 1001, 1000]);
      const since = new Date(h.clock.now() - 1500).toISOString();
      expect((await audit(`?tenantId=${t.id}&since=${since}`)).entries.map((e) => e.details.quotaBytes)).toEqual([
        1004, 1003,
      ]);
      expect((await h.json("GET", "/api/v1/admin/audit?cursor=zzz", { key: ADMIN_KEY })).status).toBe(400);
      expect((await h.json("GET", "/api/v1/admin/audit", { key: t.apiKey })).status).toBe(401);
    },
  );

  test("console-facing admin actions are audited too: tenant webhooks, console sign-in and sign-out", async () => {
    const t = await h.createTenant();
    const hook = await h.json("POST", `/api/v1/admin/tenants/${t.id}/webhooks`, {
      key: ADMIN_KEY,
      body: { url: "https://example.com/hook", events: ["file.uploaded"] },
    });
    expect(hook.status).toBe(201);
    expect(
      (await h.req("DELETE", `/api/v1/admin/tenants/${t.id}/webhooks/${hook.body.id}`, { key: ADMIN_KEY })).status,
    ).toBe(200);
    const { entries } = await audit(`?tenantId=${t.id}`);
    expect(entries.map((e) => e.action).slice(0, 2)).toEqual(["webhook.delete", "webhook.create"]);
    expect(entries[1].target).toBe(`tenants/${t.id}/webhooks/${hook.body.id}`);

    const opened = await h.req("POST", "/api/v1/admin/session", { key: ADMIN_KEY });
    expect(opened.status).toBe(201);
    const cookie = (opened.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    expect((await h.req("DELETE", "/api/v1/admin/session", { key: ADMIN_KEY, headers: { cookie } })).status).toBe(200);
    const sessions = (await audit("?actorType=admin&limit=2")).entries.map((e) => e.action);
    expect(sessions).toEqual(["console.session.close", "console.session.open"]);
  });

  test("audit.record is a domain API for actions outside the routes (CLI, jobs)", async () => {
    await h.services.audit.record({ actor: { type: "cli" }, action: "workspace.migrate", target: "workspaces/x" });
    const { entries } = await audit("?action=workspace.migrate");
    expect(entries[0]).toMatchObject({ actor: { type: "cli", id: null }, target: "workspaces/x", address: null });
  });
});

describe("regenerate-key with graceSeconds", () => {
  inProcessOnly("moves the ManualClock through the grace window")(
    "the old key keeps working for the grace window only; a plain regenerate ends it at once",
    async () => {
      const t = await h.createTenant();
      const r = await h.json("POST", `/api/v1/admin/tenants/${t.id}/regenerate-key`, {
        key: ADMIN_KEY,
        body: { graceSeconds: 60 },
      });
      expect(r.status).toBe(200);
      expect(Date.parse(r.body.previousKeyExpiresAt)).toBe(h.clock.now() + 60_000);
      const info = async (key: string) => (await h.json("GET", "/api/v1/tenant/info", { key })).body?.id;
      expect(await info(t.apiKey)).toBe(t.id);
      expect(await info(r.body.apiKey)).toBe(t.id);
      h.clock.advance(59_000);
      expect(await info(t.apiKey)).toBe(t.id);
      h.clock.advance(1_000);
      expect((await h.req("GET", "/api/v1/tenant/info", { key: t.apiKey })).status).toBe(401);
      expect(await info(r.body.apiKey)).toBe(t.id);

      const r2 = await h.json("POST", `/api/v1/admin/tenants/${t.id}/regenerate-key`, {
        key: ADMIN_KEY,
        body: { graceSeconds: 3600 },
      });
      const r3 = await h.json("POST", `/api/v1/admin/tenants/${t.id}/regenerate-key`, { key: ADMIN_KEY });
      expect(r3.body.previousKeyExpiresAt).toBeUndefined();
      expect((await h.req("GET", "/api/v1/tenant/info", { key: r2.body.apiKey })).status).toBe(401);
      expect((await h.req("GET", "/api/v1/tenant/info", { key: r.body.apiKey })).status).toBe(401);
      expect(await info(r3.body.apiKey)).toBe(t.id);
      const bad = await h.json("POST", `/api/v1/admin/tenants/${t.id}/regenerate-key`, {
        key: ADMIN_KEY,
        body: { graceSeconds: -1 },
      });
      expect(bad.status).toBe(400);
    },
  );
});
