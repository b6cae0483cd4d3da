/**
 * Compatibility: the ORIGINAL client SDKs, unmodified, against our server running as a real process.
 *
 * Their code must never enter this repository, so at run time the sources are extracted from local
 * bare git mirrors (`git archive HEAD … | tar -x`) into a temp dir outside the repo and loaded with
 * a dynamic import(). CI machines have no internet and no mirrors: there the whole block is skipped
 * (with a console note), not failed. Mirror locations (bare git dirs), overridable by env:
 *   SB_SDK_A_GIT       marlinjai/storage-brain-sdk v0.2 (standalone StorageBrain client)
 *   SB_SDK_B_GIT       marlinjai/storage-brain (packages/sdk: StorageBrain + StorageBrainAdmin, workspaces, signed URLs)
 *   SB_BRAIN_CORE_GIT  marlinjai/brain-core (SDK B imports its errors from `@marlinjai/brain-core/sdk`)
 * The SDK B block runs only when both its mirror and brain-core's are present.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sampleContent, tempDir } from "../support/harness";
import { productCommand, type Spawned, spawnServer } from "../support/spawn-server";

const MIRRORS = "/work/.mirror";
const GIT_A = process.env.SB_SDK_A_GIT || `${MIRRORS}/marlinjai+storage-brain-sdk/repo`;
const GIT_B = process.env.SB_SDK_B_GIT || `${MIRRORS}/marlinjai+storage-brain/repo`;
const GIT_CORE = process.env.SB_BRAIN_CORE_GIT || `${MIRRORS}/marlinjai+brain-core/repo`;
const HAS_A = existsSync(GIT_A);
const HAS_B = existsSync(GIT_B) && existsSync(GIT_CORE);
if (!HAS_A)
  console.log(`[compat] SDK A mirror not found (${GIT_A}); skipping SDK A compatibility tests (normal on CI).`);
if (!HAS_B) console.log(`[compat] SDK B / brain-core mirror not found (${GIT_B}, ${GIT_CORE}); skipping SDK B tests.`);

const ADMIN = "sk_admin_compat_0123456789abcdef";
const dirs: string[] = [];
let server: Spawned | undefined;
afterAll(async () => {
  await server?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `git archive HEAD <paths>` unpacked into `into` (no shell); throws with git's or tar's message. */
function extract(gitDir: string, paths: string[], into: string) {
  mkdirSync(into, { recursive: true });
  const tar = join(into, ".archive.tar");
  for (const cmd of [
    ["git", `--git-dir=${gitDir}`, "archive", "--format=tar", "-o", tar, "HEAD", ...paths],
    ["tar", "-xf", tar, "-C", into],
  ]) {
    const r = Bun.spawnSync(cmd);
    if (r.exitCode !== 0) throw new Error(`extract ${gitDir}: ${cmd[0]}: ${r.stderr.toString()}`);
  }
  rmSync(tar);
}

/** One server per file: fixed free port so PUBLIC_URL (absolute signed URLs) points at it. */
async function startServer(): Promise<Spawned> {
  if (server) return server;
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port;
  probe.stop(true);
  const data = tempDir("sb-compat-data-");
  dirs.push(data);
  server = await spawnServer(productCommand("serve"), {
    cwd: join(import.meta.dir, "../.."),
    env: { DATA_DIR: data, ADMIN_API_KEY: ADMIN, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` },
  });
  return server;
}

/** Tenant through the admin HTTP API (SDK A has no admin client). */
async function createTenant(body: Record<string, unknown>): Promise<{ id: string; apiKey: string }> {
  const headers = { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" };
  const res = await fetch(`${server!.url}/api/v1/admin/tenants`, {
    method: "POST",
    headers,
    body: JSON.stringify({ name: `compat-${crypto.randomUUID()}`, ...body }),
  });
  if (res.status !== 201) throw new Error(`createTenant ${res.status}: ${await res.text()}`);
  return res.json() as Promise<{ id: string; apiKey: string }>;
}

const png = (size = 2048) => sampleContent("image/png", size);
const pdf = (size = 1500) => sampleContent("application/pdf", size);
const file = (bytes: Uint8Array, name: string, type: string) => new File([bytes], name, { type });
const bytesOf = async (res: Response): Promise<Uint8Array> => new Uint8Array(await res.arrayBuffer());
/** The error a promise rejects with (fails the test if it resolves). */
const caught = (p: Promise<unknown>): Promise<any> =>
  p.then(
    () => Promise.reject(new Error("expected a rejection")),
    (e) => e,
  );
/**
 * SDK B quirk (in its own code, not ours): its Authentication/QuotaExceeded/FileNotFound/Validation errors
 * extend brain-core's BrainSdkError, not its StorageBrainError, so request()'s "don't retry 4xx" check misses
 * them: they are retried (with backoff) and finally thrown as NetworkError wrapping the real error.
 */
async function caughtB(p: Promise<unknown>): Promise<any> {
  const e = await caught(p);
  return e?.code === "NETWORK_ERROR" && e.originalError ? e.originalError : e;
}

describe.skipIf(!HAS_A)("SDK A: @marlinjai/storage-brain-sdk v0.2 (unmodified)", () => {
  let A: any;
  let sb: any;
  let tenant: { id: string; apiKey: string };
  const uploaded: { id: string; bytes: Uint8Array; type: string }[] = [];

  beforeAll(async () => {
    const dir = tempDir("sb-compat-sdk-a-");
    dirs.push(dir);
    extract(GIT_A, ["src"], dir);
    A = await import(join(dir, "src/index.ts"));
    await startServer();
    tenant = await createTenant({ quotaBytes: 10 * 1024 * 1024 });
    sb = new A.StorageBrain({ apiKey: tenant.apiKey, baseUrl: server!.url, maxRetries: 1 });
  }, 30_000);

  test("upload() a PNG and a PDF: request → PUT (Bearer) → completed FileInfo; getFile agrees", async () => {
    const progress: number[] = [];
    const bytes = png();
    const info = await sb.upload(file(bytes, "x.png", "image/png"), {
      context: "newsletter",
      tags: { k: "v" },
      onProgress: (p: number) => progress.push(p),
    });
    expect(info).toMatchObject({
      originalName: "x.png",
      fileType: "image/png",
      sizeBytes: bytes.byteLength,
      context: "newsletter",
      tags: { k: "v" },
      processingStatus: "completed",
    });
    expect(progress.at(-1)).toBe(100);
    expect(await sb.getFile(info.id)).toEqual(info);
    uploaded.push({ id: info.id, bytes, type: "image/png" });
    for (const [b, name] of [
      [pdf(), "doc.pdf"],
      [pdf(3000), "doc2.pdf"],
    ] as const) {
      const i = await sb.upload(file(b, name, "application/pdf"), { context: "invoice" });
      expect(i.processingStatus).toBe("completed");
      uploaded.push({ id: i.id, bytes: b, type: "application/pdf" });
    }
  });

  test("FileInfo.url (relative, Bearer) downloads the exact bytes", async () => {
    for (const u of uploaded) {
      const info = await sb.getFile(u.id);
      const res = await fetch(new URL(info.url, server!.url), {
        headers: { authorization: `Bearer ${tenant.apiKey}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe(u.type);
      expect(await bytesOf(res)).toEqual(u.bytes);
    }
  });

  test("listFiles(): cursor pagination, total, context and fileType filters", async () => {
    const p1 = await sb.listFiles({ limit: 2 });
    expect(p1.files).toHaveLength(2);
    expect(p1.total).toBe(3);
    expect(p1.nextCursor).toEqual(expect.any(String));
    const p2 = await sb.listFiles({ limit: 2, cursor: p1.nextCursor });
    expect(p2.files).toHaveLength(1);
    expect(p2.nextCursor).toBeNull();
    expect([...p1.files, ...p2.files].map((f: any) => f.id).sort()).toEqual(uploaded.map((u) => u.id).sort());
    expect((await sb.listFiles({ fileType: "application/pdf" })).files).toHaveLength(2);
    expect((await sb.listFiles({ context: "newsletter" })).files.map((f: any) => f.id)).toEqual([uploaded[0]!.id]);
  });

  test("getQuota() and getTenantInfo()", async () => {
    const used = uploaded.reduce((s, u) => s + u.bytes.byteLength, 0);
    expect(await sb.getQuota()).toMatchObject({
      quotaBytes: 10 * 1024 * 1024,
      usedBytes: used,
      availableBytes: 10 * 1024 * 1024 - used,
      usagePercent: 0,
    });
    const info = await sb.getTenantInfo();
    expect(info).toMatchObject({
      id: tenant.id,
      allowedFileTypes: expect.arrayContaining(["image/png", "application/pdf"]),
    });
    expect(new Date(info.createdAt).toISOString()).toBe(info.createdAt);
  });

  test("deleteFile(): gone from getFile (FileNotFoundError) and listFiles, quota released", async () => {
    const gone = uploaded.pop()!;
    const before = (await sb.getQuota()).usedBytes;
    await sb.deleteFile(gone.id);
    expect(await caught(sb.getFile(gone.id))).toBeInstanceOf(A.FileNotFoundError);
    expect((await sb.listFiles()).total).toBe(2);
    expect((await sb.getQuota()).usedBytes).toBe(before - gone.bytes.byteLength);
  });

  test("error mapping: wrong key, disallowed type (SDK and server), over quota, unknown id", async () => {
    const bad = new A.StorageBrain({ apiKey: "sk_live_wrong", baseUrl: server!.url, maxRetries: 1 });
    const auth = await caught(bad.getQuota());
    expect(auth).toBeInstanceOf(A.AuthenticationError);
    expect(auth.statusCode).toBe(401);
    // the SDK's own allow-list rejects text/plain before any request
    expect(
      await caught(sb.upload(file(new TextEncoder().encode("hi"), "a.txt", "text/plain"), { context: "default" })),
    ).toBeInstanceOf(A.InvalidFileTypeError);
    // the server rejects a type the tenant does not allow
    const pngOnly = await createTenant({ allowedFileTypes: ["image/png"] });
    const sbPng = new A.StorageBrain({ apiKey: pngOnly.apiKey, baseUrl: server!.url, maxRetries: 1 });
    const typeErr = await caught(sbPng.upload(file(pdf(), "d.pdf", "application/pdf"), { context: "invoice" }));
    expect(typeErr).toBeInstanceOf(A.InvalidFileTypeError);
    expect(typeErr.details).toMatchObject({ fileType: "application/pdf", allowedTypes: ["image/png"] });
    const tiny = await createTenant({ quotaBytes: 1000 });
    const sbTiny = new A.StorageBrain({ apiKey: tiny.apiKey, baseUrl: server!.url, maxRetries: 1 });
    const quota = await caught(sbTiny.upload(file(png(2048), "big.png", "image/png"), { context: "default" }));
    expect(quota).toBeInstanceOf(A.QuotaExceededError);
    expect(quota.quotaBytes).toBe(1000);
    expect(quota.usedBytes).toBe(0);
    const nf = await caught(sb.getFile(crypto.randomUUID()));
    expect(nf).toBeInstanceOf(A.FileNotFoundError);
    expect(nf.statusCode).toBe(404);
  });
});

describe.skipIf(!HAS_B)("SDK B: marlinjai/storage-brain packages/sdk (unmodified)", () => {
  let B: any;
  let Admin: any;
  let admin: any;
  let sb: any;
  let tenant: { id: string; apiKey: string };

  beforeAll(async () => {
    const dir = tempDir("sb-compat-sdk-b-");
    dirs.push(dir);
    extract(GIT_B, ["packages/sdk/src"], dir);
    // `@marlinjai/brain-core/sdk` resolves through node_modules next to the extracted SDK, to the TS source
    const core = join(dir, "node_modules/@marlinjai/brain-core");
    extract(GIT_CORE, ["src"], core);
    writeFileSync(
      join(core, "package.json"),
      JSON.stringify({ name: "@marlinjai/brain-core", type: "module", exports: { "./sdk": "./src/sdk/index.ts" } }),
    );
    B = await import(join(dir, "packages/sdk/src/index.ts"));
    Admin = await import(join(dir, "packages/sdk/src/admin.ts"));
    await startServer();
    admin = new Admin.StorageBrainAdmin({ adminApiKey: ADMIN, baseUrl: server!.url, maxRetries: 1 });
    const created = await admin.createTenant({ name: `compat-b-${crypto.randomUUID()}`, quotaBytes: 10 * 1024 * 1024 });
    expect(created.apiKey).toStartWith("sk_live_");
    tenant = { id: created.id, apiKey: created.apiKey };
    sb = new B.StorageBrain({ apiKey: tenant.apiKey, baseUrl: server!.url, maxRetries: 1 });
  }, 30_000);

  test("upload(), getSignedUrl() and getPermanentUrl() download the exact bytes without a key", async () => {
    const bytes = png(5000);
    const info = await sb.upload(file(bytes, "x.png", "image/png"), { context: "b" });
    expect(info).toMatchObject({
      fileType: "image/png",
      sizeBytes: 5000,
      processingStatus: "completed",
      workspaceId: null,
    });
    const signed = await sb.getSignedUrl(info.id, 600);
    expect(signed).toMatchObject({ fileId: info.id, expiresIn: 600 });
    expect(signed.url).toStartWith(`${server!.url}/`);
    const perm = await sb.getPermanentUrl(info.id);
    for (const url of [signed.url, perm.url]) {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(await bytesOf(res)).toEqual(bytes);
    }
    const adminSigned = await admin.getTenantFileSignedUrl(tenant.id, info.id);
    expect(await bytesOf(await fetch(adminSigned.url))).toEqual(bytes);
    await sb.deleteFile(info.id);
    expect(await caughtB(sb.getSignedUrl(info.id))).toBeInstanceOf(B.FileNotFoundError);
  });

  test("workspaces: createWorkspace, withWorkspace().upload/listFiles, listWorkspaces", async () => {
    const ws = await sb.createWorkspace({ name: "Team A", slug: "team-a" });
    expect(ws).toMatchObject({ name: "Team A", slug: "team-a", quotaBytes: null, usedBytes: 0 });
    const scoped = sb.withWorkspace(ws.id);
    const info = await scoped.upload(file(pdf(), "w.pdf", "application/pdf"));
    expect(info.workspaceId).toBe(ws.id);
    await sb.upload(file(png(), "outside.png", "image/png"));
    expect((await scoped.listFiles()).files.map((f: any) => f.id)).toEqual([info.id]);
    expect((await sb.listWorkspaces()).map((w: any) => w.id)).toContain(ws.id);
    expect((await sb.getWorkspace(ws.id)).usedBytes).toBe(1500);
    expect((await admin.listTenantWorkspaces(tenant.id)).workspaces).toHaveLength(1);
  });

  test("admin client: getTenant, listTenants, listTenantFiles, getTenantQuota, regenerateKey", async () => {
    const detail = await admin.getTenant(tenant.id);
    expect(detail.quota.quotaBytes).toBe(10 * 1024 * 1024);
    expect((await admin.listTenants({ limit: 100 })).tenants.map((t: any) => t.id)).toContain(tenant.id);
    const files = await admin.listTenantFiles(tenant.id);
    expect(files.total).toBe(2);
    expect((await admin.getTenantQuota(tenant.id)).usedBytes).toBe(detail.quota.usedBytes);
    const regen = await admin.regenerateKey(tenant.id);
    expect(regen.tenantId).toBe(tenant.id);
    expect(await caughtB(sb.getQuota())).toBeInstanceOf(B.AuthenticationError);
    sb = new B.StorageBrain({ apiKey: regen.apiKey, baseUrl: server!.url, maxRetries: 1 });
    expect((await sb.getTenantInfo()).id).toBe(tenant.id);
  });

  test("error mapping: server-side type check, over quota, unknown id, admin wrong key", async () => {
    const typeErr = await caught(sb.upload(file(new TextEncoder().encode("hi"), "a.txt", "text/plain")));
    expect(typeErr).toBeInstanceOf(B.InvalidFileTypeError);
    const tiny = await admin.createTenant({ name: `compat-tiny-${crypto.randomUUID()}`, quotaBytes: 1000 });
    const sbTiny = new B.StorageBrain({ apiKey: tiny.apiKey, baseUrl: server!.url, maxRetries: 1 });
    expect(await caughtB(sbTiny.upload(file(png(), "big.png", "image/png")))).toBeInstanceOf(B.QuotaExceededError);
    expect(await caughtB(sb.getFile(crypto.randomUUID()))).toBeInstanceOf(B.FileNotFoundError);
    const badAdmin = new Admin.StorageBrainAdmin({ adminApiKey: tenant.apiKey, baseUrl: server!.url, maxRetries: 1 });
    expect(await caughtB(badAdmin.listTenants())).toBeInstanceOf(B.AuthenticationError);
  });
});
