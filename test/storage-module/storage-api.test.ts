import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { storedNameFor } from "../../src/domain/storage-module/stored-name";
import { ADMIN_KEY, createHarness, type Harness, sampleContent } from "../support/harness";
import { multipartBody } from "../support/multipart";

let h: Harness;
let org: { id: string; apiKey: string };
let alice: string;
let bob: string;
let aliceReadOnly: string;

async function issueKey(tenantKey: string, userId: string, scopes = ["read", "write", "delete"], workspaceId?: string) {
  const r = await h.json("POST", "/api/v1/tenant/keys", { key: tenantKey, body: { userId, scopes, workspaceId } });
  expect(r.status).toBe(201);
  expect(r.body.apiKey).toStartWith("sk_user_");
  return r.body.apiKey as string;
}

async function upload(
  key: string,
  file: { name: string; type: string; bytes: Uint8Array },
  query = "",
  fields: Record<string, string> = {},
) {
  const { body, contentType } = multipartBody(fields, file);
  return h.json("POST", `/api/v1/storage/upload${query}`, { key, body, headers: { "content-type": contentType } });
}

const png = (name = "photo.png", size = 2048) => ({ name, type: "image/png", bytes: sampleContent("image/png", size) });

beforeAll(async () => {
  h = await createHarness();
  org = await h.createTenant({ quotaBytes: 10 * 1024 * 1024 });
  alice = await issueKey(org.apiKey, "alice");
  bob = await issueKey(org.apiKey, "bob");
  aliceReadOnly = await issueKey(org.apiKey, "alice", ["read"]);
});
afterAll(() => h.close());

describe("naming scheme", () => {
  test("{original_name}_{YYYYMMDD_HHMMSS}_{uuid8}.{ext}, sanitised", () => {
    const at = Date.UTC(2026, 10, 26, 4, 5, 6);
    expect(storedNameFor("Quarterly Report.PDF", at, "abcd1234")).toBe("Quarterly_Report_20261126_040506_abcd1234.pdf");
    expect(storedNameFor("../../etc/passwd", at, "abcd1234")).toBe("etc_passwd_20261126_040506_abcd1234");
    expect(storedNameFor("ｆｕｌｌ.png", at, "abcd1234")).toBe("full_20261126_040506_abcd1234.png");
    expect(storedNameFor("résumé.tar.gz", at, "abcd1234")).toBe("r_sum_.tar_20261126_040506_abcd1234.gz");
    expect(storedNameFor("\u0000..", at, "abcd1234")).toBe("file_20261126_040506_abcd1234");
  });
});

describe("upload, read, sign, delete", () => {
  test("a user uploads into its own folder; the file is visible through both APIs", async () => {
    const r = await upload(alice, png("My Photo.png"), "?category=profile_image");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      originalName: "My Photo.png",
      userId: "alice",
      category: "profile_image",
      contentType: "image/png",
      size: 2048,
      bucket: "default",
      processingStatus: "completed",
    });
    expect(r.body.name).toMatch(/^My_Photo_\d{8}_\d{6}_[0-9a-f]{8}\.png$/);
    expect(r.body.path).toBe(`organizations/${org.id}/files/alice/${r.body.name}`);
    const meta = await h.json("GET", `/api/v1/storage/objects/${r.body.name}/metadata`, { key: alice });
    expect(meta.body).toMatchObject({ name: r.body.name, size: 2048 });
    const main = await h.json("GET", `/api/v1/files/${r.body.fileId}`, { key: org.apiKey });
    expect(main.body).toMatchObject({ sizeBytes: 2048, fileType: "image/png", processingStatus: "completed" });
    const url = await h.json("GET", `/api/v1/storage/objects/${r.body.name}/presigned-url?expiresIn=120`, {
      key: alice,
    });
    expect(url.body.expiresIn).toBe(120);
    const dl = await h.req("GET", url.body.url.replace("http://localhost:3000", ""));
    expect(new Uint8Array(await dl.arrayBuffer())).toEqual(sampleContent("image/png", 2048));
    const quota = (await h.json("GET", "/api/v1/tenant/quota", { key: org.apiKey })).body;
    expect(quota.usedBytes).toBeGreaterThanOrEqual(2048);
    expect(quota.reservedBytes).toBe(0);
    expect((await h.json("DELETE", `/api/v1/storage/objects/${r.body.name}`, { key: alice })).body).toEqual({
      success: true,
    });
    expect((await h.json("GET", `/api/v1/files/${r.body.fileId}`, { key: org.apiKey })).status).toBe(404);
    expect((await h.json("GET", "/api/v1/tenant/quota", { key: org.apiKey })).body.usedBytes).toBe(
      quota.usedBytes - 2048,
    );
  });

  test("fields before the file part work like query parameters; a file deleted via the main API is gone from the module", async () => {
    const r = await upload(
      org.apiKey,
      { name: "data.csv", type: "text/csv", bytes: new TextEncoder().encode("a,b\n1,2\n") },
      "",
      { category: "data_source", userId: "carol" },
    );
    expect(r.body).toMatchObject({ userId: "carol", category: "data_source", size: 8 });
    expect(
      (await h.json("GET", `/api/v1/storage/objects/${r.body.name}/metadata?userId=carol`, { key: org.apiKey })).status,
    ).toBe(200);
    await h.json("DELETE", `/api/v1/files/${r.body.fileId}`, { key: org.apiKey });
    expect(
      (await h.json("GET", `/api/v1/storage/objects/${r.body.name}/metadata?userId=carol`, { key: org.apiKey })).status,
    ).toBe(404);
  });

  test("category rules: types and size limits", async () => {
    const pdf = { name: "a.pdf", type: "application/pdf", bytes: sampleContent("application/pdf", 500) };
    const wrong = await upload(alice, pdf, "?category=profile_image");
    expect(wrong.body.error).toMatchObject({ code: "INVALID_FILE_TYPE", details: { category: "profile_image" } });
    const big = await upload(alice, png("big.png", 5 * 1024 * 1024 + 1), "?category=profile_image");
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe("FILE_TOO_LARGE");
    expect((await upload(alice, pdf, "?category=nonsense")).status).toBe(400);
    const fake = await upload(alice, {
      name: "x.png",
      type: "image/png",
      bytes: new TextEncoder().encode("not a png"),
    });
    expect(fake.body).toMatchObject({ processingStatus: "failed", size: 9 });
    const q = (await h.json("GET", "/api/v1/tenant/quota", { key: org.apiKey })).body;
    expect(q.reservedBytes).toBe(0);
  });

  test("listing: a user sees its own files; the organization sees all or one user's; buckets map to workspaces", async () => {
    const ws = await h.json("POST", "/api/v1/workspaces", {
      key: org.apiKey,
      body: { name: "Reports", slug: "reports" },
    });
    await upload(alice, png("a1.png"));
    await upload(bob, png("b1.png"), "?bucket=reports");
    const mine = await h.json("GET", "/api/v1/storage/files", { key: alice });
    expect(mine.body.files.every((f: any) => f.userId === "alice")).toBe(true);
    const all = await h.json("GET", "/api/v1/storage/files?limit=100", { key: org.apiKey });
    expect(new Set(all.body.files.map((f: any) => f.userId))).toEqual(new Set(["alice", "bob"]));
    const bobs = await h.json("GET", "/api/v1/storage/files?userId=bob", { key: org.apiKey });
    expect(bobs.body.files.map((f: any) => f.originalName)).toEqual(["b1.png"]);
    const buckets = await h.json("GET", "/api/v1/storage/buckets", { key: alice });
    expect(buckets.body.buckets.map((b: any) => b.name)).toEqual(["default", "reports"]);
    expect(buckets.body.buckets[1].workspaceId).toBe(ws.body.id);
    const inReports = await h.json("GET", "/api/v1/storage/buckets/reports/objects", { key: bob });
    expect(inReports.body.objects.map((o: any) => o.originalName)).toEqual(["b1.png"]);
    expect((await h.json("GET", "/api/v1/storage/buckets/reports/objects", { key: alice })).body.objects).toEqual([]);
    expect((await h.json("GET", "/api/v1/storage/buckets/nope/objects", { key: alice })).status).toBe(404);
  });

  test("a multipart body cut before its closing boundary → 400, nothing kept", async () => {
    const { body, contentType } = multipartBody({}, png("cut.png", 50_000));
    const cut = body.subarray(0, 30_000);
    const before = (await h.json("GET", "/api/v1/tenant/quota", { key: org.apiKey })).body;
    const r = await h.json("POST", "/api/v1/storage/upload", {
      key: alice,
      body: cut,
      headers: { "content-type": contentType },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("VALIDATION_ERROR");
    expect((await h.json("GET", "/api/v1/tenant/quota", { key: org.apiKey })).body).toMatchObject({
      usedBytes: before.usedBytes,
      reservedBytes: before.reservedBytes,
    });
  });

  test("scopes and revocation", async () => {
    const r = await upload(aliceReadOnly, png());
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("FORBIDDEN");
    const own = (await upload(alice, png("keep.png"))).body;
    expect((await h.json("DELETE", `/api/v1/storage/objects/${own.name}`, { key: aliceReadOnly })).status).toBe(403);
    expect((await h.json("GET", `/api/v1/storage/objects/${own.name}/metadata`, { key: aliceReadOnly })).status).toBe(
      200,
    );
    const keys = await h.json("GET", "/api/v1/tenant/keys", { key: org.apiKey });
    const ro = keys.body.keys.find((k: any) => k.scopes.length === 1);
    expect(ro.apiKey).toBeUndefined();
    expect((await h.json("DELETE", `/api/v1/tenant/keys/${ro.id}`, { key: org.apiKey })).body).toEqual({
      success: true,
    });
    expect((await h.json("GET", "/api/v1/storage/files", { key: aliceReadOnly })).status).toBe(401);
    // user keys are not tenant keys
    expect((await h.json("GET", "/api/v1/files", { key: alice })).status).toBe(401);
  });
});

describe("isolation: a user key never reaches another user's object", () => {
  test("every endpoint × bob's object", async () => {
    const b = (await upload(bob, png("secret.png"))).body;
    const attempts: [string, string][] = [
      ["GET", `/api/v1/storage/objects/${b.name}/metadata`],
      ["GET", `/api/v1/storage/objects/${b.name}/presigned-url`],
      ["DELETE", `/api/v1/storage/objects/${b.name}`],
      ["GET", `/api/v1/storage/objects/${b.name}/metadata?userId=bob`],
      ["GET", `/api/v1/storage/objects/${b.name}/presigned-url?userId=bob`],
      ["DELETE", `/api/v1/storage/objects/${b.name}?userId=bob`],
      ["GET", "/api/v1/storage/files?userId=bob"],
      ["GET", "/api/v1/storage/buckets/default/objects?userId=bob"],
      ["GET", `/api/v1/files/${b.fileId}`],
      ["GET", `/api/v1/files/${b.fileId}/download`],
    ];
    for (const [m, url] of attempts) {
      const r = await h.json(m, url, { key: alice });
      expect([401, 403, 404]).toContain(r.status);
      expect(Object.keys(r.body)).toEqual(["error"]); // an error, nothing of the object (its name may echo the request)
      expect(JSON.stringify(r.body)).not.toContain("organizations/");
    }
    const listed = await h.json("GET", "/api/v1/storage/files?limit=100", { key: alice });
    expect(listed.body.files.map((f: any) => f.name)).not.toContain(b.name);
    expect(
      (await h.json("GET", `/api/v1/storage/objects/${b.name}/metadata?userId=bob`, { key: org.apiKey })).status,
    ).toBe(200);
    const usage = await h.json("GET", "/api/v1/storage/usage", { key: alice });
    expect(usage.body.byUser.map((u: any) => u.userId)).toEqual(["alice"]);
    const aliceFiles = (await h.json("GET", "/api/v1/storage/files?limit=100", { key: alice })).body.files.filter(
      (f: any) => f.processingStatus === "completed",
    );
    expect(usage.body.fileCount).toBe(aliceFiles.length);
    expect(usage.body.byCategory.reduce((n: number, c: any) => n + c.bytes, 0)).toBe(
      aliceFiles.reduce((n: number, f: any) => n + f.size, 0),
    );
  });

  test("a key pinned to a workspace sees only that bucket", async () => {
    const ws = (
      await h.json("POST", "/api/v1/workspaces", { key: org.apiKey, body: { name: "Pinned", slug: "pinned" } })
    ).body;
    const pinned = await issueKey(org.apiKey, "dave", ["read", "write"], ws.id);
    expect((await upload(pinned, png())).status).toBe(403); // default bucket
    expect((await upload(pinned, png(), "?bucket=pinned")).status).toBe(200);
    expect(
      (await h.json("GET", "/api/v1/storage/buckets", { key: pinned })).body.buckets.map((b: any) => b.name),
    ).toEqual(["pinned"]);
    expect((await h.json("GET", "/api/v1/storage/buckets/default/objects", { key: pinned })).status).toBe(403);
  });

  const hostile = [
    "..",
    "...",
    "%2e%2e",
    "..%2f..%2fetc%2fpasswd",
    "a%2fb",
    "a%5cb",
    "%00",
    "a%00.png",
    "foo..bar.png",
    ".hidden",
    "%ef%bc%8e%ef%bc%8e",
    "x".repeat(300),
    "%c0%ae%c0%ae",
    "a%20b.png",
    "-leading",
  ];
  for (const name of hostile) {
    test(`hostile object name ${name.slice(0, 30)} → 4xx, never a file`, async () => {
      for (const [m, suffix] of [
        ["GET", "/metadata"],
        ["GET", "/presigned-url"],
        ["DELETE", ""],
      ] as const) {
        const r = await h.req(m, `/api/v1/storage/objects/${name}${suffix}`, { key: alice });
        expect(r.status).toBeGreaterThanOrEqual(400);
        expect(r.status).toBeLessThan(500);
      }
    });
  }
  for (const bucket of ["..", "%2e%2e", "a%2fb", "UPPER", "x".repeat(150), "%00", "a_b"]) {
    test(`hostile bucket ${bucket.slice(0, 30)} → 4xx`, async () => {
      const r = await h.req("GET", `/api/v1/storage/buckets/${bucket}/objects`, { key: alice });
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect((await upload(alice, png(), `?bucket=${bucket}`)).status).toBeGreaterThanOrEqual(400);
    });
  }
});

describe("quota, plans, usage", () => {
  test("the quota is refused before the body is stored", async () => {
    const small = await h.createTenant({ quotaBytes: 1000 });
    const r = await upload(small.apiKey, png("x.png", 5000), "?userId=u1");
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("QUOTA_EXCEEDED");
    const stored: string[] = [];
    for await (const k of h.rt.objects.backend.list(`t/${small.id}/`)) stored.push(k);
    expect(stored).toEqual([]);
    expect((await h.json("GET", "/api/v1/storage/files", { key: small.apiKey })).body.total).toBe(0);
    expect((await h.json("GET", "/api/v1/tenant/quota", { key: small.apiKey })).body).toMatchObject({
      usedBytes: 0,
      reservedBytes: 0,
    });
  });

  test("plans set quotas; changing a plan changes its tenants' quota; usage by category and user; recalculation", async () => {
    const free = await h.json("POST", "/api/v1/admin/plans", {
      key: ADMIN_KEY,
      body: { name: "free", quotaBytes: 50_000, maxFileSizeBytes: 10_000 },
    });
    expect(free.status).toBe(201);
    expect(
      (
        await h.json("POST", "/api/v1/admin/plans", {
          key: ADMIN_KEY,
          body: { name: "free", quotaBytes: 1, maxFileSizeBytes: 1 },
        })
      ).status,
    ).toBe(409);
    const t = await h.createTenant();
    const assigned = await h.json("PUT", `/api/v1/admin/tenants/${t.id}/plan`, {
      key: ADMIN_KEY,
      body: { planId: free.body.id },
    });
    expect(assigned.body).toMatchObject({ quotaBytes: 50_000, plan: { name: "free" } });
    const quota = await h.json("GET", "/api/v1/storage/quota", { key: t.apiKey });
    expect(quota.body).toMatchObject({ quotaBytes: 50_000, maxFileSizeBytes: 10_000, plan: { name: "free" } });
    expect(quota.body.categories.profile_image.maxSizeBytes).toBe(10_000);
    expect((await upload(t.apiKey, png("big.png", 12_000), "?userId=u1")).body.error.code).toBe("FILE_TOO_LARGE");
    await upload(t.apiKey, png("a.png", 3000), "?userId=u1&category=profile_image");
    await upload(t.apiKey, png("b.png", 4000), "?userId=u2");
    const usage = (await h.json("GET", "/api/v1/storage/usage", { key: t.apiKey })).body;
    expect(usage).toMatchObject({
      organizationId: t.id,
      usedBytes: 7000,
      quotaBytes: 50_000,
      fileCount: 2,
      plan: { name: "free" },
    });
    expect(usage.byCategory).toEqual([
      { category: "general", fileCount: 1, bytes: 4000 },
      { category: "profile_image", fileCount: 1, bytes: 3000 },
    ]);
    expect(usage.byUser).toEqual([
      { userId: "u2", fileCount: 1, bytes: 4000 },
      { userId: "u1", fileCount: 1, bytes: 3000 },
    ]);
    await h.json("PATCH", `/api/v1/admin/plans/${free.body.id}`, { key: ADMIN_KEY, body: { quotaBytes: 80_000 } });
    expect((await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body.quotaBytes).toBe(80_000);
    await h.rt.conn.rows(sql`UPDATE tenants SET used_bytes = 1 WHERE id = ${t.id}`);
    const fixed = (await h.json("GET", "/api/v1/storage/usage?recalculate=true", { key: t.apiKey })).body;
    expect(fixed.usedBytes).toBe(7000);
    expect(fixed.recalculated.tenants[0].usedBytes).toEqual({ before: 1, after: 7000 });
  });
});
