import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ADMIN_KEY, createHarness, type Harness, sampleContent } from "../support/harness";

/**
 * The admin client's bulk move and contexts calls, tenants that accept any file type, and
 * workspaces bound to an external auth workspace (docs/api.md, "Admin API").
 */
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const admin = (method: string, path: string, body?: unknown) => h.json(method, path, { key: ADMIN_KEY, body });

async function upload(
  key: string,
  content: Uint8Array,
  opts: { type?: string; name?: string; extra?: Record<string, unknown> } = {},
) {
  const type = opts.type ?? "image/png";
  const r = await h.json("POST", "/api/v1/upload/request", {
    key,
    body: { fileType: type, fileName: opts.name ?? "f.bin", fileSizeBytes: content.byteLength, ...opts.extra },
  });
  if (r.status !== 200) return { request: r, put: null, fileId: "" };
  const put = await h.json("PUT", r.body.presignedUrl, { key, body: content, headers: { "content-type": type } });
  return { request: r, put, fileId: r.body.fileId as string };
}

async function workspace(key: string, slug: string, quotaBytes?: number) {
  const r = await h.json("POST", "/api/v1/workspaces", { key, body: { name: slug, slug, quotaBytes } });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

const usage = async (key: string, id: string) =>
  (await h.json("GET", `/api/v1/workspaces/${id}`, { key })).body.usedBytes as number;
const workspaceOf = async (key: string, fileId: string) =>
  (await h.json("GET", `/api/v1/files/${fileId}`, { key })).body.workspaceId as string | null;

describe("POST /api/v1/admin/tenants/:id/files/migrate-workspace", () => {
  test("by tag: only unassigned files by default; usages move with the rows", async () => {
    const t = await h.createTenant();
    const ws = await workspace(t.apiKey, "prod");
    const other = await workspace(t.apiKey, "other");
    const a = await upload(t.apiKey, sampleContent("image/png", 1000), { extra: { tags: { env: "prod" } } });
    const b = await upload(t.apiKey, sampleContent("image/png", 2000), { extra: { tags: { env: "prod" } } });
    const inOther = await upload(t.apiKey, sampleContent("image/png", 4000), {
      extra: { tags: { env: "prod" }, workspaceId: other },
    });
    const dev = await upload(t.apiKey, sampleContent("image/png", 8000), { extra: { tags: { env: "dev" } } });
    expect(await usage(t.apiKey, other)).toBe(4000);

    const r = await admin("POST", `/api/v1/admin/tenants/${t.id}/files/migrate-workspace`, {
      workspaceId: ws,
      filter: { tag: { key: "env", value: "prod" } },
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ migratedCount: 2, totalBytes: 3000, workspaceId: ws });
    expect(await workspaceOf(t.apiKey, a.fileId)).toBe(ws);
    expect(await workspaceOf(t.apiKey, b.fileId)).toBe(ws);
    expect(await workspaceOf(t.apiKey, inOther.fileId)).toBe(other);
    expect(await workspaceOf(t.apiKey, dev.fileId)).toBeNull();
    expect(await usage(t.apiKey, ws)).toBe(3000);
    expect(await usage(t.apiKey, other)).toBe(4000);
    // Listings and per-context counters follow the move.
    const listed = await h.json("GET", `/api/v1/files?workspaceId=${ws}`, { key: t.apiKey });
    expect(listed.body.total).toBe(2);

    // onlyUnassigned: false also takes files out of other workspaces, releasing their usage there.
    const all = await admin("POST", `/api/v1/admin/tenants/${t.id}/files/migrate-workspace`, {
      workspaceId: ws,
      filter: { tag: { key: "env", value: "prod" } },
      onlyUnassigned: false,
    });
    expect(all.body).toEqual({ migratedCount: 1, totalBytes: 4000, workspaceId: ws });
    expect(await usage(t.apiKey, ws)).toBe(7000);
    expect(await usage(t.apiKey, other)).toBe(0);
    // Tenant usage is unchanged by moves, and nothing drifted.
    expect((await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body.usedBytes).toBe(15000);
    const drift = await admin("POST", `/api/v1/admin/tenants/${t.id}/recalculate-usage`);
    expect(drift.body).toEqual({ tenants: [], workspaces: [] });
  });

  test("by ids: other tenants' ids never match; an empty match moves nothing", async () => {
    const t = await h.createTenant();
    const stranger = await h.createTenant();
    const ws = await workspace(t.apiKey, "by-ids");
    const mine = await upload(t.apiKey, sampleContent("image/png", 500));
    const theirs = await upload(stranger.apiKey, sampleContent("image/png", 700));
    const r = await admin("POST", `/api/v1/admin/tenants/${t.id}/files/migrate-workspace`, {
      workspaceId: ws,
      filter: { fileIds: [mine.fileId, theirs.fileId, crypto.randomUUID()] },
    });
    expect(r.body).toEqual({ migratedCount: 1, totalBytes: 500, workspaceId: ws });
    expect(await workspaceOf(stranger.apiKey, theirs.fileId)).toBeNull();
    const none = await admin("POST", `/api/v1/admin/tenants/${t.id}/files/migrate-workspace`, {
      workspaceId: ws,
      filter: { tag: { key: "nope", value: "x" } },
    });
    expect(none.body).toEqual({ migratedCount: 0, totalBytes: 0, workspaceId: ws });
  });

  test("a move past the workspace quota is refused whole: 403 and nothing moved", async () => {
    const t = await h.createTenant();
    const small = await workspace(t.apiKey, "small", 2500);
    const ids = [];
    for (let i = 0; i < 3; i++)
      ids.push((await upload(t.apiKey, sampleContent("image/png", 1000), { extra: { tags: { k: "v" } } })).fileId);
    const r = await admin("POST", `/api/v1/admin/tenants/${t.id}/files/migrate-workspace`, {
      workspaceId: small,
      filter: { tag: { key: "k", value: "v" } },
    });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("QUOTA_EXCEEDED");
    expect(r.body.error.details).toMatchObject({ workspaceId: small, quotaBytes: 2500, requestedBytes: 3000 });
    expect(await usage(t.apiKey, small)).toBe(0);
    for (const id of ids) expect(await workspaceOf(t.apiKey, id)).toBeNull();
    // Two of them fit.
    const ok = await admin("POST", `/api/v1/admin/tenants/${t.id}/files/migrate-workspace`, {
      workspaceId: small,
      filter: { fileIds: ids.slice(0, 2) },
    });
    expect(ok.body.migratedCount).toBe(2);
    expect(await usage(t.apiKey, small)).toBe(2000);
  });

  test("validation: foreign workspace → 404; no filter, both filters, >500 ids, bad ids → 400", async () => {
    const t = await h.createTenant();
    const stranger = await h.createTenant();
    const foreign = await workspace(stranger.apiKey, "theirs");
    const path = `/api/v1/admin/tenants/${t.id}/files/migrate-workspace`;
    const f404 = await admin("POST", path, { workspaceId: foreign, filter: { fileIds: [crypto.randomUUID()] } });
    expect(f404.status).toBe(404);
    const mine = await workspace(t.apiKey, "mine");
    const cases: unknown[] = [
      { workspaceId: mine, filter: {} },
      { workspaceId: mine, filter: { fileIds: [] } },
      { workspaceId: mine, filter: { tag: { key: "a", value: "b" }, fileIds: [crypto.randomUUID()] } },
      { workspaceId: mine, filter: { fileIds: Array.from({ length: 501 }, () => crypto.randomUUID()) } },
      { workspaceId: mine, filter: { fileIds: ["not-a-uuid"] } },
      { workspaceId: "nope", filter: { fileIds: [crypto.randomUUID()] } },
      { workspaceId: mine },
    ];
    for (const body of cases) {
      const r = await admin("POST", path, body);
      expect([r.status, r.body.error?.code]).toEqual([400, "VALIDATION_ERROR"]);
    }
    const unknownTenant = await admin("POST", `/api/v1/admin/tenants/${crypto.randomUUID()}/files/migrate-workspace`, {
      workspaceId: mine,
      filter: { fileIds: [crypto.randomUUID()] },
    });
    expect(unknownTenant.status).toBe(404);
    expect((await h.json("POST", path, { key: t.apiKey, body: { workspaceId: mine, filter: {} } })).status).toBe(401);
  });
});

describe("GET /api/v1/admin/tenants/:id/files/contexts", () => {
  test("counts and bytes per context, for the tenant or one workspace", async () => {
    const t = await h.createTenant();
    const ws = await workspace(t.apiKey, "ctx");
    await upload(t.apiKey, sampleContent("image/png", 100), { extra: { context: "avatars" } });
    await upload(t.apiKey, sampleContent("image/png", 200), { extra: { context: "avatars", workspaceId: ws } });
    await upload(t.apiKey, sampleContent("image/png", 400), { extra: { context: "docs" } });
    const all = await admin("GET", `/api/v1/admin/tenants/${t.id}/files/contexts`);
    expect(all.status).toBe(200);
    expect(all.body.contexts).toEqual([
      { context: "docs", fileCount: 1, totalBytes: 400 },
      { context: "avatars", fileCount: 2, totalBytes: 300 },
    ]);
    // The same answer as the tenant's own endpoint.
    expect((await h.json("GET", "/api/v1/files/contexts", { key: t.apiKey })).body).toEqual(all.body);
    const one = await admin("GET", `/api/v1/admin/tenants/${t.id}/files/contexts?workspaceId=${ws}`);
    expect(one.body.contexts).toEqual([{ context: "avatars", fileCount: 1, totalBytes: 200 }]);
    const bad = await admin("GET", `/api/v1/admin/tenants/${t.id}/files/contexts?workspaceId=nope`);
    expect([bad.status, bad.body.error.code]).toEqual([400, "VALIDATION_ERROR"]);
    const stranger = await h.createTenant();
    const foreign = await workspace(stranger.apiKey, "foreign-ctx");
    expect((await admin("GET", `/api/v1/admin/tenants/${t.id}/files/contexts?workspaceId=${foreign}`)).status).toBe(
      404,
    );
    expect((await h.json("GET", `/api/v1/files/contexts?workspaceId=${foreign}`, { key: t.apiKey })).status).toBe(404);
  });

  test("no static path segment is shadowed by a sibling :param route", async () => {
    // For every route whose segment i is static while a sibling route (same method, same prefix)
    // has a parameter there, the static route must be reachable: its answer must not be the
    // sibling's parameter validation failure.
    const routes = h.app.routes.map((r) => ({ method: r.method, parts: r.path.split("/") }));
    const shadowed: string[] = [];
    let checked = 0;
    for (const r of routes) {
      for (let i = 1; i < r.parts.length; i++) {
        const seg = r.parts[i]!;
        if (seg.startsWith(":") || seg === "*") continue;
        const siblingParams = routes
          .filter(
            (o) =>
              o.method === r.method &&
              o.parts.length > i &&
              o.parts[i]!.startsWith(":") &&
              o.parts.slice(0, i).join("/") === r.parts.slice(0, i).join("/"),
          )
          .map((o) => o.parts[i]!.slice(1))
          .filter((name) => !r.parts.includes(`:${name}`));
        if (siblingParams.length === 0) continue;
        checked++;
        const path = r.parts.map((p) => (p.startsWith(":") ? crypto.randomUUID() : p)).join("/");
        const res = await h.json(r.method, path, { key: ADMIN_KEY });
        const errors: { path?: string }[] = res.body?.error?.details?.errors ?? [];
        if (res.status === 400 && errors.some((e) => siblingParams.includes(String(e.path))))
          shadowed.push(`${r.method} ${path}`);
      }
    }
    expect(checked).toBeGreaterThan(0);
    expect(shadowed).toEqual([]);
  });
});

describe("tenants that accept any file type", () => {
  const mp4 = () => {
    const b = new Uint8Array(4096);
    b.set([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 2, 0, 0x69, 0x73, 0x6f, 0x6d]);
    return b;
  };
  const mp3 = () => {
    const b = new Uint8Array(4096);
    b.set([0xff, 0xfb, 0x90, 0x64]);
    return b;
  };
  /** A real one-entry stored ZIP archive. */
  const zip = () => {
    const enc = new TextEncoder();
    const name = enc.encode("a.txt");
    const data = enc.encode("hello zip\n");
    const local = new Uint8Array(30 + name.length);
    const l = new DataView(local.buffer);
    l.setUint32(0, 0x04034b50, true);
    l.setUint16(4, 10, true);
    l.setUint32(18, data.length, true);
    l.setUint32(22, data.length, true);
    l.setUint16(26, name.length, true);
    local.set(name, 30);
    const central = new Uint8Array(46 + name.length);
    const c = new DataView(central.buffer);
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(6, 10, true);
    c.setUint32(20, data.length, true);
    c.setUint32(24, data.length, true);
    c.setUint16(28, name.length, true);
    central.set(name, 46);
    const end = new Uint8Array(22);
    const e = new DataView(end.buffer);
    e.setUint32(0, 0x06054b50, true);
    e.setUint16(8, 1, true);
    e.setUint16(10, 1, true);
    e.setUint32(12, central.length, true);
    e.setUint32(16, local.length + data.length, true);
    return new Uint8Array([...local, ...data, ...central, ...end]);
  };

  test("new tenants get the default six; null on create or patch opts into any type", async () => {
    const plain = await admin("POST", "/api/v1/admin/tenants", { name: `plain-${Date.now()}` });
    expect(plain.body.allowedFileTypes).toEqual([
      "image/jpeg",
      "image/png",
      "image/webp",
      "image/gif",
      "image/avif",
      "application/pdf",
    ]);
    const rejected = await upload(plain.body.apiKey, new TextEncoder().encode("a,b\n"), { type: "text/csv" });
    expect(rejected.request.body.error.code).toBe("INVALID_FILE_TYPE");

    const anyType = await admin("POST", "/api/v1/admin/tenants", { name: `any-${Date.now()}`, allowedFileTypes: null });
    expect(anyType.status).toBe(201);
    expect(anyType.body.allowedFileTypes).toBeNull();
    const got = await admin("GET", `/api/v1/admin/tenants/${anyType.body.id}`);
    expect(got.body.allowedFileTypes).toBeNull();

    const patched = await admin("PATCH", `/api/v1/admin/tenants/${plain.body.id}`, { allowedFileTypes: null });
    expect(patched.body.allowedFileTypes).toBeNull();
    const now = await upload(plain.body.apiKey, new TextEncoder().encode("a,b\n"), { type: "text/csv" });
    expect(now.put?.body.processingStatus).toBe("completed");
  });

  test("known signatures are verified, others accepted as declared; all served as attachment", async () => {
    const t = await h.json("POST", "/api/v1/admin/tenants", {
      key: ADMIN_KEY,
      body: { name: `media-${Date.now()}`, allowedFileTypes: null },
    });
    const key = t.body.apiKey as string;
    const cases: [string, Uint8Array<ArrayBuffer>, string][] = [
      ["audio/mpeg", mp3(), "song.mp3"],
      ["video/mp4", mp4(), "clip.mp4"],
      ["application/zip", zip(), "bundle.zip"],
      ["text/csv", new TextEncoder().encode("id,name\n1,a\n"), "rows.csv"],
      ["application/x-thing", new TextEncoder().encode("whatever bytes"), "thing.bin"],
    ];
    for (const [type, content, name] of cases) {
      const up = await upload(key, content, { type, name });
      expect([type, up.put?.status, up.put?.body.processingStatus]).toEqual([type, 200, "completed"]);
      // Even when the client asks for inline, only raster images and PDF are ever served inline.
      const dl = await h.req("GET", `/api/v1/files/${up.fileId}/download?disposition=inline`, { key });
      expect(dl.status).toBe(200);
      expect(dl.headers.get("content-disposition")).toStartWith("attachment");
      expect(dl.headers.get("x-content-type-options")).toBe("nosniff");
      expect(dl.headers.get("content-security-policy")).toContain("sandbox");
      expect(new Uint8Array(await dl.arrayBuffer())).toEqual(content);
    }
    // A declared mp4 whose bytes are a PNG is refused by the magic-byte check.
    const fake = await upload(key, sampleContent("image/png", 2048), { type: "video/mp4", name: "fake.mp4" });
    expect(fake.put?.body.processingStatus).toBe("failed");
    // Malformed types are refused even for an any-type tenant.
    const bad = await upload(key, new Uint8Array(10), { type: "not a mime" });
    expect(bad.request.body.error.code).toBe("INVALID_FILE_TYPE");
    // A PNG asked inline is served inline.
    const png = await upload(key, sampleContent("image/png", 512), { type: "image/png", name: "p.png" });
    const inline = await h.req("GET", `/api/v1/files/${png.fileId}/download?disposition=inline`, { key });
    expect(inline.headers.get("content-disposition")).toStartWith("inline");
  });
});

describe("workspace authWorkspaceId", () => {
  test("stored and returned on create and update; unique per tenant when set; null clears", async () => {
    const t = await h.createTenant();
    const other = await h.createTenant();
    const a = await h.json("POST", "/api/v1/workspaces", {
      key: t.apiKey,
      body: { name: "A", slug: "a", authWorkspaceId: "auth-ws-1" },
    });
    expect(a.status).toBe(201);
    expect(a.body.authWorkspaceId).toBe("auth-ws-1");
    const b = await h.json("POST", "/api/v1/workspaces", { key: t.apiKey, body: { name: "B", slug: "b" } });
    expect(b.body.authWorkspaceId).toBeNull();
    const dup = await h.json("POST", "/api/v1/workspaces", {
      key: t.apiKey,
      body: { name: "C", slug: "c", authWorkspaceId: "auth-ws-1" },
    });
    expect([dup.status, dup.body.error.code]).toEqual([409, "CONFLICT"]);
    const dupPatch = await h.json("PATCH", `/api/v1/workspaces/${b.body.id}`, {
      key: t.apiKey,
      body: { authWorkspaceId: "auth-ws-1" },
    });
    expect(dupPatch.status).toBe(409);
    // Another tenant may bind the same external id.
    const elsewhere = await h.json("POST", "/api/v1/workspaces", {
      key: other.apiKey,
      body: { name: "A", slug: "a", authWorkspaceId: "auth-ws-1" },
    });
    expect(elsewhere.status).toBe(201);
    const cleared = await h.json("PATCH", `/api/v1/workspaces/${a.body.id}`, {
      key: t.apiKey,
      body: { authWorkspaceId: null },
    });
    expect(cleared.body.authWorkspaceId).toBeNull();
    const moved = await h.json("PATCH", `/api/v1/workspaces/${b.body.id}`, {
      key: t.apiKey,
      body: { authWorkspaceId: "auth-ws-1" },
    });
    expect(moved.body.authWorkspaceId).toBe("auth-ws-1");
    expect((await h.json("GET", `/api/v1/workspaces/${b.body.id}`, { key: t.apiKey })).body.authWorkspaceId).toBe(
      "auth-ws-1",
    );
    const listed = await admin("GET", `/api/v1/admin/tenants/${t.id}/workspaces`);
    const bindings = Object.fromEntries(
      listed.body.workspaces.map((w: { slug: string; authWorkspaceId: string | null }) => [w.slug, w.authWorkspaceId]),
    );
    expect(bindings).toEqual({ a: null, b: "auth-ws-1" });
  });
});
