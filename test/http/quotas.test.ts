import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { objectExists } from "../support/faulty-backend";
import { ADMIN_KEY, createHarness, type Harness, inProcessOnly, sampleContent } from "../support/harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const png = (size: number) => ({ fileType: "image/png", fileName: "q.png", fileSizeBytes: size });

async function uploadTo(key: string, size: number, extra: Record<string, unknown> = {}) {
  const r = await h.json("POST", "/api/v1/upload/request", { key, body: { ...png(size), ...extra } });
  expect(r.status).toBe(200);
  const put = await h.json("PUT", r.body.presignedUrl, { key, body: sampleContent("image/png", size) });
  expect(put.body.processingStatus).toBe("completed");
  return r.body.fileId as string;
}

describe("quota reservation under concurrency", () => {
  test("50 concurrent requests against a quota that fits 10 → exactly 10 succeed (×20 runs)", async () => {
    for (let run = 0; run < 20; run++) {
      const t = await h.createTenant({ quotaBytes: 10_000 });
      const results = await Promise.all(
        Array.from({ length: 50 }, () => h.json("POST", "/api/v1/upload/request", { key: t.apiKey, body: png(1000) })),
      );
      const ok = results.filter((r) => r.status === 200);
      expect(ok.length).toBe(10);
      for (const r of results.filter((r) => r.status !== 200)) {
        expect(r.status).toBe(403);
        expect(r.body.error.code).toBe("QUOTA_EXCEEDED");
      }
      const q = (await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body;
      expect(q.reservedBytes + q.usedBytes).toBe(10_000);
      expect(q.availableBytes).toBe(0);
    }
  });

  test("workspace quota holds under concurrency too, and the tenant keeps the rest", async () => {
    const t = await h.createTenant({ quotaBytes: 1_000_000 });
    const ws = await h.json("POST", "/api/v1/workspaces", {
      key: t.apiKey,
      body: { name: "Small", slug: "small", quotaBytes: 5000 },
    });
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        h.json("POST", "/api/v1/upload/request", { key: t.apiKey, body: { ...png(500), workspaceId: ws.body.id } }),
      ),
    );
    expect(results.filter((r) => r.status === 200).length).toBe(10);
    const denied = results.find((r) => r.status !== 200)!;
    expect(denied.body.error).toMatchObject({
      code: "QUOTA_EXCEEDED",
      details: { scope: "workspace", quotaBytes: 5000 },
    });
    const w = (await h.json("GET", `/api/v1/workspaces/${ws.body.id}`, { key: t.apiKey })).body;
    expect(w.reservedBytes).toBe(5000);
    const q = (await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body;
    expect(q.reservedBytes).toBe(5000); // a refused workspace reservation rolled back its tenant part
  });

  test("completion charges, delete releases; lowering the quota below usage blocks uploads and deletes nothing", async () => {
    const t = await h.createTenant({ quotaBytes: 10_000 });
    const id = await uploadTo(t.apiKey, 4000);
    let q = (await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body;
    expect(q).toMatchObject({ usedBytes: 4000, reservedBytes: 0, availableBytes: 6000, usagePercent: 40 });
    await h.json("PATCH", `/api/v1/admin/tenants/${t.id}`, { key: ADMIN_KEY, body: { quotaBytes: 1000 } });
    const refused = await h.json("POST", "/api/v1/upload/request", { key: t.apiKey, body: png(1) });
    expect(refused.body.error.code).toBe("QUOTA_EXCEEDED");
    expect((await h.json("GET", `/api/v1/files/${id}`, { key: t.apiKey })).status).toBe(200);
    q = (await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body;
    expect(q).toMatchObject({ quotaBytes: 1000, usedBytes: 4000, availableBytes: 0 });
    await h.json("DELETE", `/api/v1/files/${id}`, { key: t.apiKey });
    q = (await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body;
    expect(q.usedBytes).toBe(0);
  });
});

describe("quota under interleavings", () => {
  // Over real HTTP, fetch refuses to send a body shorter than its Content-Length; cut uploads
  // against a running server are the fault proxy's job (test/hardening).
  inProcessOnly("sends a body shorter than its Content-Length, which fetch cannot")(
    "a PUT without declared size that fails after its file was deleted releases nothing twice",
    async () => {
      const t = await h.createTenant({ quotaBytes: 1000 });
      const a = await h.json("POST", "/api/v1/upload/request", {
        key: t.apiKey,
        body: { fileType: "image/png", fileName: "a.png" },
      });
      const b = await h.json("POST", "/api/v1/upload/request", { key: t.apiKey, body: png(500) });
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let step = 0;
      const stalled = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (step++ === 0) return c.enqueue(sampleContent("image/png", 100));
          await gate;
          c.close(); // ends short: 100 of 500 bytes
        },
      });
      const put = h.json("PUT", a.body.presignedUrl, {
        key: t.apiKey,
        body: stalled,
        headers: { "content-length": "500" },
      });
      // The PUT claims the upload and reserves its Content-Length, then stalls: wait for the claim
      // (a few ms on SQLite, longer on a loaded PostgreSQL).
      const reserved = async () => (await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body.reservedBytes;
      for (let i = 0; i < 100 && (await reserved()) !== 1000; i++) await Bun.sleep(20);
      expect(await reserved()).toBe(1000);
      expect((await h.json("DELETE", `/api/v1/files/${a.body.fileId}`, { key: t.apiKey })).status).toBe(200);
      release();
      expect((await put).status).toBe(400);
      expect((await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body.reservedBytes).toBe(500); // b's
      expect((await h.json("POST", "/api/v1/upload/request", { key: t.apiKey, body: png(1000) })).status).toBe(403);
      expect(
        (await h.json("PUT", b.body.presignedUrl, { key: t.apiKey, body: sampleContent("image/png", 500) })).body
          .processingStatus,
      ).toBe("completed");
    },
  );
});

describe("rejected PUTs hold no quota", () => {
  test("after a rejected PUT the bytes are free for others; a retry must fit again", async () => {
    const t = await h.createTenant({ quotaBytes: 1000 });
    const a = await h.json("POST", "/api/v1/upload/request", { key: t.apiKey, body: png(1000) });
    const wrongSize = await h.json("PUT", a.body.presignedUrl, {
      key: t.apiKey,
      body: sampleContent("image/png", 999),
    });
    expect(wrongSize.status).toBe(400);
    expect((await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body).toMatchObject({
      usedBytes: 0,
      reservedBytes: 0,
      availableBytes: 1000,
    });
    const b = await h.json("POST", "/api/v1/upload/request", { key: t.apiKey, body: png(600) });
    expect(b.status).toBe(200);
    const retry = await h.json("PUT", a.body.presignedUrl, { key: t.apiKey, body: sampleContent("image/png", 1000) });
    expect(retry.status).toBe(403);
    expect(retry.body.error.code).toBe("QUOTA_EXCEEDED");
    await h.json("DELETE", `/api/v1/files/${b.body.fileId}`, { key: t.apiKey });
    const ok = await h.json("PUT", a.body.presignedUrl, { key: t.apiKey, body: sampleContent("image/png", 1000) });
    expect(ok.body.processingStatus).toBe("completed");
    expect((await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body).toMatchObject({
      usedBytes: 1000,
      reservedBytes: 0,
    });
  });
});

describe("workspaces", () => {
  let t: { id: string; apiKey: string };
  beforeAll(async () => {
    t = await h.createTenant({ quotaBytes: 100_000 });
  });

  test("create, list, get, patch (the documented shapes)", async () => {
    const c = await h.json("POST", "/api/v1/workspaces", {
      key: t.apiKey,
      body: { name: "Marketing", slug: "marketing", quotaBytes: 50_000, metadata: { team: "m" } },
    });
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({
      name: "Marketing",
      slug: "marketing",
      quotaBytes: 50_000,
      usedBytes: 0,
      metadata: { team: "m" },
    });
    expect(Number.isInteger(c.body.createdAt)).toBe(true);
    expect(c.body.createdAt).toBeLessThan(1e11); // epoch seconds (docs/api.md, "Timestamps")
    const list = await h.json("GET", "/api/v1/workspaces", { key: t.apiKey });
    expect(list.body.workspaces.map((w: any) => w.slug)).toContain("marketing");
    const p = await h.json("PATCH", `/api/v1/workspaces/${c.body.id}`, {
      key: t.apiKey,
      body: { name: "Mktg", quotaBytes: null, metadata: { x: 1 } },
    });
    expect(p.body).toMatchObject({ name: "Mktg", quotaBytes: null, metadata: { x: 1 }, slug: "marketing" });
    const admin = await h.json("GET", `/api/v1/admin/tenants/${t.id}/workspaces`, { key: ADMIN_KEY });
    expect(admin.body.workspaces.map((w: any) => w.id)).toContain(c.body.id);
  });

  const invalid: [string, unknown][] = [
    ["empty name", { name: "", slug: "a" }],
    ["uppercase slug", { name: "A", slug: "Abc" }],
    ["slug with space", { name: "A", slug: "a b" }],
    ["slug with trailing hyphen", { name: "A", slug: "ab-" }],
    ["negative quota", { name: "A", slug: "neg", quotaBytes: -5 }],
    ["metadata not an object", { name: "A", slug: "meta", metadata: "x" }],
  ];
  for (const [name, body] of invalid) {
    test(`invalid: ${name} → 400`, async () => {
      const r = await h.json("POST", "/api/v1/workspaces", { key: t.apiKey, body });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe("VALIDATION_ERROR");
    });
  }

  test("duplicate slug → 409; another tenant's workspace → 404", async () => {
    await h.json("POST", "/api/v1/workspaces", { key: t.apiKey, body: { name: "D", slug: "dup" } });
    const dup = await h.json("POST", "/api/v1/workspaces", { key: t.apiKey, body: { name: "D2", slug: "dup" } });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe("CONFLICT");
    const other = await h.createTenant();
    const mine = (await h.json("GET", "/api/v1/workspaces", { key: t.apiKey })).body.workspaces[0];
    for (const [m, body] of [
      ["GET", undefined],
      ["PATCH", { name: "x" }],
      ["DELETE", undefined],
    ] as const) {
      expect((await h.json(m, `/api/v1/workspaces/${mine.id}`, { key: other.apiKey, body })).status).toBe(404);
    }
  });

  test("delete soft-deletes its files and releases their bytes at workspace and tenant level; the slug is free again", async () => {
    const ws = (await h.json("POST", "/api/v1/workspaces", { key: t.apiKey, body: { name: "Tmp", slug: "tmp" } })).body;
    const f1 = await uploadTo(t.apiKey, 3000, { workspaceId: ws.id });
    await uploadTo(t.apiKey, 2000, { workspaceId: ws.id });
    const pending = await h.json("POST", "/api/v1/upload/request", {
      key: t.apiKey,
      body: { ...png(1000), workspaceId: ws.id },
    });
    const before = (await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body;
    expect((await h.json("GET", `/api/v1/workspaces/${ws.id}`, { key: t.apiKey })).body).toMatchObject({
      usedBytes: 5000,
      reservedBytes: 1000,
    });
    const del = await h.json("DELETE", `/api/v1/workspaces/${ws.id}`, { key: t.apiKey });
    expect(del.body).toEqual({ success: true });
    const after = (await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body;
    expect(after.usedBytes).toBe(before.usedBytes - 5000);
    expect(after.reservedBytes).toBe(before.reservedBytes - 1000);
    expect((await h.json("GET", `/api/v1/files/${f1}`, { key: t.apiKey })).status).toBe(404);
    expect((await h.json("PUT", pending.body.presignedUrl, { body: sampleContent("image/png", 1000) })).status).toBe(
      404,
    );
    expect((await h.json("GET", `/api/v1/workspaces/${ws.id}`, { key: t.apiKey })).status).toBe(404);
    expect(
      (await h.json("POST", "/api/v1/workspaces", { key: t.apiKey, body: { name: "Tmp", slug: "tmp" } })).status,
    ).toBe(201);
  });
});

describe("recalculate usage", () => {
  test("fixes a deliberately corrupted counter and reports the drift", async () => {
    const t = await h.createTenant({ quotaBytes: 100_000 });
    await uploadTo(t.apiKey, 1234);
    await h.rt.conn.rows(sql`UPDATE tenants SET used_bytes = 99999, reserved_bytes = 7 WHERE id = ${t.id}`);
    const r = await h.json("POST", `/api/v1/admin/tenants/${t.id}/recalculate-usage`, { key: ADMIN_KEY });
    expect(r.status).toBe(200);
    expect(r.body.tenants).toEqual([
      { tenantId: t.id, usedBytes: { before: 99999, after: 1234 }, reservedBytes: { before: 7, after: 0 } },
    ]);
    expect((await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body).toMatchObject({
      usedBytes: 1234,
      reservedBytes: 0,
    });
    const again = await h.json("POST", `/api/v1/admin/tenants/${t.id}/recalculate-usage`, { key: ADMIN_KEY });
    expect(again.body.tenants).toEqual([]);
    const ws = (await h.json("POST", "/api/v1/workspaces", { key: t.apiKey, body: { name: "R", slug: "recalc" } }))
      .body;
    await uploadTo(t.apiKey, 500, { workspaceId: ws.id });
    await h.rt.conn.rows(sql`UPDATE workspaces SET used_bytes = 3 WHERE id = ${ws.id}`);
    const wsFix = await h.json("POST", `/api/v1/admin/tenants/${t.id}/recalculate-usage`, { key: ADMIN_KEY });
    expect(wsFix.body).toEqual({
      tenants: [],
      workspaces: [
        {
          workspaceId: ws.id,
          tenantId: t.id,
          usedBytes: { before: 3, after: 500 },
          reservedBytes: { before: 0, after: 0 },
        },
      ],
    });
  });
});

describe("tenant delete", () => {
  test("refused while files exist; force removes rows and objects", async () => {
    const t = await h.createTenant();
    const id = await uploadTo(t.apiKey, 100);
    const r = await h.json("DELETE", `/api/v1/admin/tenants/${t.id}`, { key: ADMIN_KEY });
    expect(r.status).toBe(409);
    expect(r.body.error.details.fileCount).toBe(1);
    const key = (await h.rt.repos.files.byId(id))!.storageKey;
    expect(await objectExists(h.rt.objects.backend, key)).toBe(true);
    expect((await h.json("DELETE", `/api/v1/admin/tenants/${t.id}?force=true`, { key: ADMIN_KEY })).body).toEqual({
      success: true,
    });
    expect(await objectExists(h.rt.objects.backend, key)).toBe(false);
    expect(await h.rt.repos.files.byId(id)).toBeUndefined();
  });
});
