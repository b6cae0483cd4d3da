import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { SEGMENT_SIZE, TAG_SIZE } from "../../src/storage/crypto";
import { objectExists } from "../support/faulty-backend";
import { ADMIN_KEY, createHarness, type Harness, inProcessOnly, sampleContent, storedBytes } from "../support/harness";

let h: Harness;
let t: { id: string; apiKey: string };
beforeAll(async () => {
  h = await createHarness();
  t = await h.createTenant({ quotaBytes: 50 * 1024 * 1024 });
});
afterAll(() => h.close());

async function requestUpload(key: string, body: Record<string, unknown>, headers?: Record<string, string>) {
  return h.json("POST", "/api/v1/upload/request", { key, body, headers });
}

/** Request + PUT with the Bearer key, as the SDK does; returns the file id and PUT response. */
async function upload(
  content: Uint8Array,
  opts: { type?: string; name?: string; key?: string; extra?: Record<string, unknown> } = {},
) {
  const key = opts.key ?? t.apiKey;
  const r = await requestUpload(key, {
    fileType: opts.type ?? "image/png",
    fileName: opts.name ?? "pic.png",
    fileSizeBytes: content.byteLength,
    ...opts.extra,
  });
  expect(r.status).toBe(200);
  const put = await h.json("PUT", r.body.presignedUrl, {
    key,
    body: content,
    headers: { "content-type": opts.type ?? "image/png" },
  });
  return { fileId: r.body.fileId as string, put, request: r.body };
}

const stored = async (fileId: string) =>
  objectExists(h.rt.objects.backend, (await h.rt.repos.files.byId(fileId))!.storageKey);

describe("upload flow (docs/api.md, Uploads)", () => {
  test("request → PUT → completed, listed, downloadable; bytes on disk are ciphertext", async () => {
    const content = sampleContent("image/png", 3 * SEGMENT_SIZE + 123);
    const r = await requestUpload(t.apiKey, {
      fileType: "image/png",
      fileName: "receipt 2026.png",
      fileSizeBytes: content.byteLength,
      context: "receipts",
      tags: { dept: "finance" },
    });
    expect(r.status).toBe(200);
    expect(r.body.presignedUrl).toStartWith(
      `/_internal/upload/tenants/${t.id}/files/${r.body.fileId}/receipt%202026.png?token=`,
    );
    expect(r.body.uploadMetadata).toEqual({
      maxSizeBytes: 104857600,
      allowedTypes: ["image/jpeg", "image/png", "image/webp", "image/gif", "image/avif", "application/pdf"],
    });
    const pending = await h.json("GET", `/api/v1/files/${r.body.fileId}`, { key: t.apiKey });
    expect(pending.body.processingStatus).toBe("pending");
    const q1 = await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey });
    expect(q1.body.reservedBytes).toBe(content.byteLength);

    const put = await h.json("PUT", r.body.presignedUrl, { key: t.apiKey, body: content });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ id: r.body.fileId, processingStatus: "completed", sizeBytes: content.byteLength });

    const got = await h.json("GET", `/api/v1/files/${r.body.fileId}`, { key: t.apiKey });
    expect(got.body).toEqual({
      id: r.body.fileId,
      url: `/api/v1/files/${r.body.fileId}/download`,
      originalName: "receipt 2026.png",
      fileType: "image/png",
      sizeBytes: content.byteLength,
      context: "receipts",
      tags: { dept: "finance" },
      metadata: null,
      processingStatus: "completed",
      workspaceId: null,
      createdAt: expect.any(String),
    });
    const q2 = await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey });
    expect(q2.body.usedBytes).toBe(content.byteLength);
    expect(q2.body.reservedBytes).toBe(0);

    const onDisk = Buffer.from((await storedBytes(h, r.body.fileId))!);
    expect(onDisk.byteLength).toBe(content.byteLength + 4 * TAG_SIZE);
    expect(onDisk.includes(Buffer.from(content.subarray(1000, 1064)))).toBe(false);

    const dl = await h.req("GET", `/api/v1/files/${r.body.fileId}/download`, { key: t.apiKey });
    expect(dl.status).toBe(200);
    expect(dl.headers.get("content-type")).toBe("image/png");
    expect(dl.headers.get("content-length")).toBe(String(content.byteLength));
    expect(dl.headers.get("x-content-type-options")).toBe("nosniff");
    expect(dl.headers.get("content-disposition")).toBe('attachment; filename="receipt 2026.png"');
    expect(new Uint8Array(await dl.arrayBuffer())).toEqual(content);
  });

  test("the presigned URL works without a Bearer key (token only), and only once", async () => {
    const content = sampleContent("application/pdf", 5000);
    const r = await requestUpload(t.apiKey, { fileType: "application/pdf", fileName: "a.pdf", fileSizeBytes: 5000 });
    const put = await h.json("PUT", r.body.presignedUrl, { body: content });
    expect(put.status).toBe(200);
    expect(put.body.processingStatus).toBe("completed");
    const again = await h.json("PUT", r.body.presignedUrl, { body: content });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("CONFLICT");
    const tampered = r.body.presignedUrl.replace(/token=[0-9a-f]/, "token=x");
    expect((await h.json("PUT", tampered, { body: content })).body.error.code).toBe("UNAUTHORIZED");
  });

  inProcessOnly("moves the ManualClock past the URL's expiry")("expired upload URL → 410 UPLOAD_EXPIRED", async () => {
    const r = await requestUpload(t.apiKey, { fileType: "image/png", fileName: "late.png", fileSizeBytes: 100 });
    h.clock.advance(901_000);
    try {
      const put = await h.json("PUT", r.body.presignedUrl, { body: sampleContent("image/png", 100) });
      expect(put.status).toBe(410);
      expect(put.body.error.code).toBe("UPLOAD_EXPIRED");
      const withKey = await h.json("PUT", r.body.presignedUrl.split("?")[0], {
        key: t.apiKey,
        body: sampleContent("image/png", 100),
      });
      expect(withKey.status).toBe(410);
    } finally {
      h.clock.advance(-901_000);
    }
  });

  test("truncated and oversized bodies are rejected; nothing stored, no quota held, retry works", async () => {
    const size = SEGMENT_SIZE + 10;
    const quotaBefore = (await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body;
    const r = await requestUpload(t.apiKey, { fileType: "image/png", fileName: "x.png", fileSizeBytes: size });
    expect((await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body.reservedBytes).toBe(
      quotaBefore.reservedBytes + size,
    );
    const before = quotaBefore.usedBytes;
    // A streamed body has no Content-Length, so the size check happens while streaming.
    const stream = (bytes: Uint8Array) => new Blob([bytes]).stream();
    const short = await h.json("PUT", r.body.presignedUrl, { body: stream(sampleContent("image/png", size - 1)) });
    expect(short.status).toBe(400);
    expect(short.body.error.code).toBe("VALIDATION_ERROR");
    const long = await h.json("PUT", r.body.presignedUrl, { body: stream(sampleContent("image/png", size + 5)) });
    expect(long.status).toBe(413);
    expect(long.body.error.code).toBe("PAYLOAD_TOO_LARGE");
    const declaredLong = await h.json("PUT", r.body.presignedUrl, { body: sampleContent("image/png", size + 1) });
    expect(declaredLong.status).toBe(413);
    expect(await stored(r.body.fileId)).toBe(false);
    if (h.rt.config.STORAGE_BACKEND === "local") expect(readdirSync(join(h.dir, "objects", ".tmp"))).toEqual([]);
    expect((await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body).toMatchObject({
      usedBytes: before,
      reservedBytes: quotaBefore.reservedBytes,
    });
    expect((await h.json("GET", `/api/v1/files/${r.body.fileId}`, { key: t.apiKey })).body.processingStatus).toBe(
      "pending",
    );
    const ok = await h.json("PUT", r.body.presignedUrl, { body: stream(sampleContent("image/png", size)) });
    expect(ok.body.processingStatus).toBe("completed");
  });

  test("magic-byte mismatch → failed with reason, quota released, object deleted", async () => {
    const fake = new TextEncoder().encode("this is not a png at all, just text..........");
    const before = (await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body;
    const { fileId, put } = await upload(fake, { type: "image/png" });
    expect(put.status).toBe(200);
    expect(put.body.processingStatus).toBe("failed");
    expect(put.body.metadata.failureReason).toBe("type_mismatch");
    const after = (await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body;
    expect(after.usedBytes).toBe(before.usedBytes);
    expect(after.reservedBytes).toBe(before.reservedBytes);
    expect(await stored(fileId)).toBe(false);
    expect((await h.req("GET", `/api/v1/files/${fileId}/download`, { key: t.apiKey })).status).toBe(404);
    const jpegAsPng = await upload(sampleContent("image/jpeg", 200), { type: "image/png" });
    expect(jpegAsPng.put.body.metadata.message).toContain("image/jpeg");
  });

  test("widened allowed types: unknown-signature types pass, known ones are still checked", async () => {
    const w = await h.createTenant({ allowedFileTypes: ["text/plain", "image/png"] });
    const txt = await upload(new TextEncoder().encode("hello world"), {
      type: "text/plain",
      name: "a.txt",
      key: w.apiKey,
    });
    expect(txt.put.body.processingStatus).toBe("completed");
    const pdf = await requestUpload(w.apiKey, { fileType: "application/pdf", fileName: "a.pdf", fileSizeBytes: 10 });
    expect(pdf.status).toBe(400);
    expect(pdf.body.error).toMatchObject({
      code: "INVALID_FILE_TYPE",
      details: { fileType: "application/pdf", allowedTypes: ["text/plain", "image/png"] },
    });
  });
});

describe("upload request validation", () => {
  const cases: [string, Record<string, unknown>, number, string][] = [
    ["type not allowed", { fileType: "image/svg+xml", fileName: "a.svg", fileSizeBytes: 10 }, 400, "INVALID_FILE_TYPE"],
    ["too large", { fileType: "image/png", fileName: "a.png", fileSizeBytes: 104857601 }, 413, "FILE_TOO_LARGE"],
    ["zero size", { fileType: "image/png", fileName: "a.png", fileSizeBytes: 0 }, 400, "VALIDATION_ERROR"],
    ["empty name", { fileType: "image/png", fileName: "", fileSizeBytes: 10 }, 400, "VALIDATION_ERROR"],
    [
      "name with slash",
      { fileType: "image/png", fileName: "../etc/passwd", fileSizeBytes: 10 },
      400,
      "VALIDATION_ERROR",
    ],
    ["name too long", { fileType: "image/png", fileName: "a".repeat(256), fileSizeBytes: 10 }, 400, "VALIDATION_ERROR"],
    [
      "context too long",
      { fileType: "image/png", fileName: "a.png", fileSizeBytes: 10, context: "c".repeat(101) },
      400,
      "VALIDATION_ERROR",
    ],
    [
      "tags not strings",
      { fileType: "image/png", fileName: "a.png", fileSizeBytes: 10, tags: { a: 1 } },
      400,
      "VALIDATION_ERROR",
    ],
    [
      "webhook not http",
      { fileType: "image/png", fileName: "a.png", fileSizeBytes: 10, webhookUrl: "ftp://x.example/" },
      400,
      "VALIDATION_ERROR",
    ],
    [
      "workspace of nobody",
      {
        fileType: "image/png",
        fileName: "a.png",
        fileSizeBytes: 10,
        workspaceId: "00000000-0000-4000-8000-000000000000",
      },
      404,
      "NOT_FOUND",
    ],
    [
      "over quota",
      { fileType: "image/png", fileName: "a.png", fileSizeBytes: 60 * 1024 * 1024 },
      403,
      "QUOTA_EXCEEDED",
    ],
  ];
  for (const [name, body, status, code] of cases) {
    test(name, async () => {
      const r = await requestUpload(t.apiKey, body);
      expect(r.status).toBe(status);
      expect(r.body.error.code).toBe(code);
    });
  }
  test("QUOTA_EXCEEDED carries quota, used and requested", async () => {
    const r = await requestUpload(t.apiKey, {
      fileType: "image/png",
      fileName: "a.png",
      fileSizeBytes: 60 * 1024 * 1024,
    });
    expect(r.body.error.details).toMatchObject({
      quotaBytes: 50 * 1024 * 1024,
      usedBytes: expect.any(Number),
      requestedBytes: 60 * 1024 * 1024,
    });
  });
});

describe("downloads", () => {
  let fileId: string;
  let content: Uint8Array<ArrayBuffer>;
  beforeAll(async () => {
    content = sampleContent("image/png", 2 * SEGMENT_SIZE + 500);
    fileId = (await upload(content)).fileId;
  });

  const ranges: [string, number, number][] = [
    ["bytes=0-0", 0, 0],
    [`bytes=${SEGMENT_SIZE - 1}-${SEGMENT_SIZE}`, SEGMENT_SIZE - 1, SEGMENT_SIZE],
    [`bytes=${SEGMENT_SIZE}-${2 * SEGMENT_SIZE - 1}`, SEGMENT_SIZE, 2 * SEGMENT_SIZE - 1],
    ["bytes=100-", 100, 2 * SEGMENT_SIZE + 499],
    ["bytes=-10", 2 * SEGMENT_SIZE + 490, 2 * SEGMENT_SIZE + 499],
    [`bytes=${2 * SEGMENT_SIZE + 499}-${2 * SEGMENT_SIZE + 499}`, 2 * SEGMENT_SIZE + 499, 2 * SEGMENT_SIZE + 499],
    ["bytes=10-99999999", 10, 2 * SEGMENT_SIZE + 499],
  ];
  for (const [header, start, end] of ranges) {
    test(`Range ${header} → 206 with the right bytes`, async () => {
      const res = await h.req("GET", `/api/v1/files/${fileId}/download`, { key: t.apiKey, headers: { range: header } });
      expect(res.status).toBe(206);
      expect(res.headers.get("content-range")).toBe(`bytes ${start}-${end}/${content.byteLength}`);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(
        content.subarray(start, end + 1) as Uint8Array<ArrayBuffer>,
      );
    });
  }

  test("unsatisfiable range → 416; ETag → 304; HEAD has headers only", async () => {
    const bad = await h.req("GET", `/api/v1/files/${fileId}/download`, {
      key: t.apiKey,
      headers: { range: `bytes=${content.byteLength}-` },
    });
    expect(bad.status).toBe(416);
    expect(bad.headers.get("content-range")).toBe(`bytes */${content.byteLength}`);
    const full = await h.req("GET", `/api/v1/files/${fileId}/download`, { key: t.apiKey });
    const etag = full.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    await full.arrayBuffer();
    const nm = await h.req("GET", `/api/v1/files/${fileId}/download`, {
      key: t.apiKey,
      headers: { "if-none-match": etag },
    });
    expect(nm.status).toBe(304);
    const head = await h.req("HEAD", `/api/v1/files/${fileId}/download`, { key: t.apiKey });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(content.byteLength));
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  test("signed URL: works without a key; tampering and out-of-range expiresIn are refused", async () => {
    const s = await h.json("GET", `/api/v1/files/${fileId}/signed-url?expiresIn=60`, { key: t.apiKey });
    expect(s.body).toMatchObject({ fileId, expiresIn: 60 });
    expect(s.body.url).toStartWith(`http://localhost:3000/api/v1/files/${fileId}/download?token=`);
    const path = s.body.url.replace("http://localhost:3000", "");
    const dl = await h.req("GET", `${path}&disposition=inline`);
    expect(dl.status).toBe(200);
    expect(dl.headers.get("content-disposition")).toStartWith("inline");
    expect(dl.headers.get("cache-control")).toMatch(/^private, max-age=\d+$/);
    expect(new Uint8Array(await dl.arrayBuffer())).toEqual(content);
    const forged = path.replace(/expires=(\d+)/, (_: string, n: string) => `expires=${Number(n) + 1000}`);
    expect((await h.json("GET", forged)).body.error.code).toBe("UNAUTHORIZED");
    expect((await h.json("GET", `/api/v1/files/${fileId}/signed-url?expiresIn=59`, { key: t.apiKey })).status).toBe(
      400,
    );
    expect((await h.json("GET", `/api/v1/files/${fileId}/signed-url?expiresIn=86401`, { key: t.apiKey })).status).toBe(
      400,
    );
  });

  inProcessOnly("moves the ManualClock past the URL's expiry")("a signed URL stops working once expired", async () => {
    const s = await h.json("GET", `/api/v1/files/${fileId}/signed-url?expiresIn=60`, { key: t.apiKey });
    const path = s.body.url.replace("http://localhost:3000", "");
    h.clock.advance(61_000);
    try {
      const late = await h.json("GET", path);
      expect(late.status).toBe(401);
      expect(late.body.error.message).toContain("expired");
    } finally {
      h.clock.advance(-61_000);
    }
  });

  test("permanent URL works with no expiry and is immutable-cacheable", async () => {
    const p = await h.json("GET", `/api/v1/files/${fileId}/permanent-url`, { key: t.apiKey });
    const path = p.body.url.replace("http://localhost:3000", "");
    expect(path).toContain("expires=0");
    const dl = await h.req("GET", path);
    expect(dl.status).toBe(200);
    expect(dl.headers.get("cache-control")).toContain("immutable");
    await dl.arrayBuffer();
  });

  test("tampering with one byte on disk fails the download instead of returning garbage", async () => {
    const c = sampleContent("image/png", 4096);
    const { fileId: id } = await upload(c);
    const buf = (await storedBytes(h, id))!;
    buf[2000] = buf[2000]! ^ 0x01;
    await h.rt.objects.backend.put((await h.rt.repos.files.byId(id))!.storageKey, new Blob([buf]).stream());
    const res = await h.json("GET", `/api/v1/files/${id}/download`, { key: t.apiKey });
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe("INTERNAL_ERROR");
    expect(JSON.stringify(res.body)).not.toContain(h.dir);
  });
});

describe("files API", () => {
  test("other tenants' ids are 404 FILE_NOT_FOUND everywhere", async () => {
    const { fileId } = await upload(sampleContent("image/png", 300));
    const other = await h.createTenant();
    for (const [m, p] of [
      ["GET", ""],
      ["DELETE", ""],
      ["GET", "/download"],
      ["GET", "/signed-url"],
      ["GET", "/permanent-url"],
      ["PATCH", ""],
    ] as const) {
      const r = await h.json(m, `/api/v1/files/${fileId}${p}`, {
        key: other.apiKey,
        body: m === "PATCH" ? { originalName: "x" } : undefined,
      });
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe("FILE_NOT_FOUND");
    }
    const r = await h.json("GET", `/api/v1/files`, { key: other.apiKey });
    expect(r.body.files).toEqual([]);
  });

  test("rename, contexts, delete (soft, releases quota, 404 after)", async () => {
    const { fileId } = await upload(sampleContent("image/png", 1000), { extra: { context: "avatars" } });
    const ren = await h.json("PATCH", `/api/v1/files/${fileId}`, { key: t.apiKey, body: { originalName: "me.png" } });
    expect(ren.body.originalName).toBe("me.png");
    expect(
      (await h.json("PATCH", `/api/v1/files/${fileId}`, { key: t.apiKey, body: { originalName: "a/b.png" } })).status,
    ).toBe(400);
    const ctx = await h.json("GET", "/api/v1/files/contexts", { key: t.apiKey });
    expect(ctx.body.contexts).toContainEqual({ context: "avatars", fileCount: 1, totalBytes: 1000 });
    const used = (await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body.usedBytes;
    const del = await h.json("DELETE", `/api/v1/files/${fileId}`, { key: t.apiKey });
    expect(del.body).toEqual({ success: true });
    expect((await h.json("GET", "/api/v1/tenant/quota", { key: t.apiKey })).body.usedBytes).toBe(used - 1000);
    expect((await h.json("GET", `/api/v1/files/${fileId}`, { key: t.apiKey })).status).toBe(404);
    expect((await h.json("DELETE", `/api/v1/files/${fileId}`, { key: t.apiKey })).status).toBe(404);
    expect(
      (await h.json("GET", "/api/v1/files/contexts", { key: t.apiKey })).body.contexts.find(
        (c: any) => c.context === "avatars",
      ),
    ).toBeUndefined();
  });

  test("pagination over thousands of files with concurrent inserts returns each file once; totals and filters agree", async () => {
    const p = await h.createTenant({ quotaBytes: 10 ** 9 });
    const now = h.clock.now();
    const insert = async (i: number, ctx: string) =>
      await h.rt.repos.files.insert({
        id: crypto.randomUUID(),
        tenantId: p.id,
        workspaceId: null,
        originalName: `f${i}.png`,
        fileType: i % 3 ? "image/png" : "application/pdf",
        sizeBytes: 10,
        context: ctx,
        tags: null,
        storageKey: `t/${p.id}/x/${i}`,
        reservedBytes: 0,
        webhookUrl: null,
        uploadExpiresAt: null,
        createdAt: now - (i % 500),
      });
    const initial = new Set<string>();
    await h.rt.repos.tx(async () => {
      for (let i = 0; i < 3000; i++) initial.add((await insert(i, i % 2 ? "odd" : "even")).id);
    });
    const seen = new Map<string, number>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: any = await h.json("GET", `/api/v1/files?limit=100${cursor ? `&cursor=${cursor}` : ""}`, {
        key: p.apiKey,
      });
      expect(r.status).toBe(200);
      expect(r.body.total).toBeGreaterThanOrEqual(3000);
      for (const f of r.body.files) seen.set(f.id, (seen.get(f.id) ?? 0) + 1);
      cursor = r.body.nextCursor;
      // concurrent inserts, newer and older than the current position
      if (pages++ % 5 === 0) await insert(100000 + pages, "late");
    } while (cursor);
    for (const id of initial) expect(seen.get(id)).toBe(1);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    const odd = await h.json("GET", "/api/v1/files?context=odd&fileType=image/png&limit=1", { key: p.apiKey });
    const expected = [...Array(3000).keys()].filter((i) => i % 2 === 1 && i % 3 !== 0).length;
    expect(odd.body.total).toBe(expected);
    expect(odd.body.files[0].context).toBe("odd");
    expect((await h.json("GET", "/api/v1/files?limit=101", { key: p.apiKey })).status).toBe(400);
  });

  test("X-Workspace-Id sets the default workspace for requests and listings; another tenant's → 404", async () => {
    const ws = await h.json("POST", "/api/v1/workspaces", {
      key: t.apiKey,
      body: { name: "Marketing", slug: "marketing-hdr" },
    });
    expect(ws.status).toBe(201);
    const r = await requestUpload(
      t.apiKey,
      { fileType: "image/png", fileName: "w.png", fileSizeBytes: 100 },
      { "x-workspace-id": ws.body.id },
    );
    const put = await h.json("PUT", r.body.presignedUrl, { key: t.apiKey, body: sampleContent("image/png", 100) });
    expect(put.body.workspaceId).toBe(ws.body.id);
    const list = await h.json("GET", "/api/v1/files", { key: t.apiKey, headers: { "x-workspace-id": ws.body.id } });
    expect(list.body.files.map((f: any) => f.id)).toEqual([r.body.fileId]);
    expect(list.body.total).toBe(1);
    const other = await h.createTenant();
    const foreign = await requestUpload(
      other.apiKey,
      { fileType: "image/png", fileName: "w.png", fileSizeBytes: 100 },
      { "x-workspace-id": ws.body.id },
    );
    expect(foreign.status).toBe(404);
  });

  test("admin views over a tenant's files", async () => {
    const { fileId } = await upload(sampleContent("image/png", 100));
    const list = await h.json("GET", `/api/v1/admin/tenants/${t.id}/files?limit=5`, { key: ADMIN_KEY });
    expect(list.body.files.length).toBeGreaterThan(0);
    expect((await h.json("GET", `/api/v1/admin/tenants/${t.id}/files/${fileId}`, { key: ADMIN_KEY })).body.id).toBe(
      fileId,
    );
    expect(
      (await h.json("GET", `/api/v1/admin/tenants/${t.id}/files/${fileId}/signed-url`, { key: ADMIN_KEY })).body.url,
    ).toContain(fileId);
    expect((await h.json("DELETE", `/api/v1/admin/tenants/${t.id}/files/${fileId}`, { key: ADMIN_KEY })).body).toEqual({
      success: true,
    });
    expect((await h.json("GET", `/api/v1/files/${fileId}`, { key: t.apiKey })).status).toBe(404);
    expect((await h.json("GET", `/api/v1/admin/tenants/${t.id}/files`, { key: t.apiKey })).status).toBe(401);
  });
});
