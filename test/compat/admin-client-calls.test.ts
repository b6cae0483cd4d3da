import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { sampleContent, tempDir } from "../support/harness";
import { productCommand, type Spawned, spawnServer } from "../support/spawn-server";

/**
 * Every call of the newest upstream admin client (its `StorageBrainAdmin`), sent the
 * way it sends them: JSON content type and Bearer admin key on every request (GET and DELETE
 * included, with no body), against a running server. Each answer is checked for the fields the
 * client reads, with their types.
 */
const ADMIN = "sk_admin_admin_client_calls";
const dir = tempDir();
let s: Spawned;
beforeAll(async () => {
  // The source server, or dist/storage-brain under `npm run test:binary`.
  s = await spawnServer(productCommand("serve"), {
    env: { DATA_DIR: dir, ADMIN_API_KEY: ADMIN },
  });
});
afterAll(async () => {
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** What the client's private `request()` does, minus its retries. */
async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(s.url + path, {
    method,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${ADMIN}` },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** Epoch numbers and ISO strings both read back as a date through `new Date(x)`. */
const isTimestamp = (v: unknown) =>
  (typeof v === "number" || typeof v === "string") &&
  new Date(typeof v === "number" && v < 1e11 ? v * 1000 : (v as string | number)).getFullYear() > 2020;

function expectTenant(t: any) {
  expect(typeof t.id).toBe("string");
  expect(typeof t.name).toBe("string");
  expect(t.keyPrefix === null || typeof t.keyPrefix === "string").toBe(true);
  expect(typeof t.quotaBytes).toBe("number");
  expect(typeof t.usedBytes).toBe("number");
  expect(t.allowedFileTypes === null || Array.isArray(t.allowedFileTypes)).toBe(true);
  expect(isTimestamp(t.createdAt)).toBe(true);
  expect(isTimestamp(t.updatedAt)).toBe(true);
}
function expectQuota(q: any) {
  for (const k of ["quotaBytes", "usedBytes", "availableBytes", "usagePercent"]) expect(typeof q[k]).toBe("number");
}
function expectFile(f: any) {
  for (const k of ["id", "url", "originalName", "fileType", "processingStatus", "createdAt"])
    expect(typeof f[k]).toBe("string");
  expect(typeof f.sizeBytes).toBe("number");
  expect(f.context === null || typeof f.context === "string").toBe(true);
  expect(f.workspaceId === null || typeof f.workspaceId === "string").toBe(true);
  expect(f.tags === null || typeof f.tags === "object").toBe(true);
  expect(f.metadata === null || typeof f.metadata === "object").toBe(true);
}
function expectWorkspace(w: any) {
  for (const k of ["id", "name", "slug"]) expect(typeof w[k]).toBe("string");
  expect(w.quotaBytes === null || typeof w.quotaBytes === "number").toBe(true);
  expect(typeof w.usedBytes).toBe("number");
  expect(w.metadata === null || typeof w.metadata === "object").toBe(true);
  expect(isTimestamp(w.createdAt)).toBe(true);
  expect(isTimestamp(w.updatedAt)).toBe(true);
}

test("each StorageBrainAdmin call answers as the client expects", async () => {
  // createTenant
  const created = await call("POST", "/api/v1/admin/tenants", { name: "admin-client", quotaBytes: 10_000_000 });
  expect(created.status).toBe(201);
  expect(created.body.apiKey).toStartWith("sk_live_");
  expect(typeof created.body.id).toBe("string");
  expect(created.body.quotaBytes).toBe(10_000_000);
  expect(Array.isArray(created.body.allowedFileTypes)).toBe(true);
  const id = created.body.id as string;

  // listTenants (with limit, as the client sends it) and getTenant
  const list = await call("GET", "/api/v1/admin/tenants?limit=10");
  expect(list.status).toBe(200);
  expect(typeof list.body.total).toBe("number");
  expect(list.body.nextCursor === null || typeof list.body.nextCursor === "string").toBe(true);
  list.body.tenants.forEach(expectTenant);
  const one = await call("GET", `/api/v1/admin/tenants/${id}`);
  expectTenant(one.body);
  expectQuota(one.body.quota);

  // updateTenant
  const updated = await call("PATCH", `/api/v1/admin/tenants/${id}`, {
    name: "admin-client-2",
    allowedFileTypes: null,
  });
  expect(updated.status).toBe(200);
  expectTenant(updated.body);
  expect(updated.body).toMatchObject({ name: "admin-client-2", allowedFileTypes: null });

  // createTenantWorkspace, listTenantWorkspaces
  const ws = await call("POST", `/api/v1/admin/tenants/${id}/workspaces`, { name: "Prod", slug: "prod" });
  expect(ws.status).toBe(201);
  expectWorkspace(ws.body);
  const wsList = await call("GET", `/api/v1/admin/tenants/${id}/workspaces`);
  wsList.body.workspaces.forEach(expectWorkspace);
  expect(wsList.body.workspaces.map((w: any) => w.id)).toContain(ws.body.id);

  // requestTenantUpload, then the PUT to the presigned URL (on its own, as a browser would)
  const content = sampleContent("image/png", 4096);
  const handshake = await call("POST", `/api/v1/admin/tenants/${id}/upload/request`, {
    fileName: "a.png",
    fileType: "image/png",
    fileSizeBytes: content.byteLength,
    tags: { env: "prod" },
    context: "avatars",
  });
  expect(handshake.status).toBe(200);
  for (const k of ["fileId", "presignedUrl", "expiresAt"]) expect(typeof handshake.body[k]).toBe("string");
  expect(typeof handshake.body.uploadMetadata.maxSizeBytes).toBe("number");
  expect(handshake.body.uploadMetadata.allowedTypes).toBeNull();
  const put = await fetch(s.url + handshake.body.presignedUrl, {
    method: "PUT",
    body: content,
    headers: { "content-type": "image/png" },
  });
  expect(put.status).toBe(200);
  const fileId = handshake.body.fileId as string;

  // listTenantFiles (every option), getTenantFile, getTenantFileSignedUrl
  const files = await call("GET", `/api/v1/admin/tenants/${id}/files?limit=5&context=avatars&fileType=image%2Fpng`);
  expect(files.status).toBe(200);
  expect(files.body.total).toBe(1);
  files.body.files.forEach(expectFile);
  const file = await call("GET", `/api/v1/admin/tenants/${id}/files/${fileId}`);
  expectFile(file.body);
  expect(file.body.processingStatus).toBe("completed");
  const signed = await call("GET", `/api/v1/admin/tenants/${id}/files/${fileId}/signed-url?expiresIn=120`);
  expect(signed.status).toBe(200);
  expect(signed.body).toMatchObject({ fileId, expiresIn: 120 });
  expect(typeof signed.body.url).toBe("string");
  expect(typeof signed.body.expiresAt).toBe("string");
  // The signed URL is absolute on PUBLIC_URL; fetch its path on the test server.
  const signedPath = new URL(signed.body.url);
  const dl = await fetch(`${s.url}${signedPath.pathname}${signedPath.search}`);
  expect(new Uint8Array(await dl.arrayBuffer())).toEqual(content);

  // migrateFilesToWorkspace, then the contexts view
  const moved = await call("POST", `/api/v1/admin/tenants/${id}/files/migrate-workspace`, {
    workspaceId: ws.body.id,
    filter: { tag: { key: "env", value: "prod" } },
  });
  expect(moved.status).toBe(200);
  expect(moved.body).toEqual({ migratedCount: 1, totalBytes: content.byteLength, workspaceId: ws.body.id });
  const contexts = await call("GET", `/api/v1/admin/tenants/${id}/files/contexts?workspaceId=${ws.body.id}`);
  expect(contexts.body).toEqual({ contexts: [{ context: "avatars", fileCount: 1, totalBytes: content.byteLength }] });

  // getTenantQuota
  const quota = await call("GET", `/api/v1/admin/tenants/${id}/quota`);
  expectQuota(quota.body);
  expect(quota.body.usedBytes).toBe(content.byteLength);

  // regenerateKey
  const regen = await call("POST", `/api/v1/admin/tenants/${id}/regenerate-key`);
  expect(regen.status).toBe(200);
  expect(regen.body.tenantId).toBe(id);
  expect(regen.body.apiKey).toStartWith("sk_live_");
  expect(typeof regen.body.message).toBe("string");

  // deleteTenantFile, deleteTenant
  expect((await call("DELETE", `/api/v1/admin/tenants/${id}/files/${fileId}`)).body).toEqual({ success: true });
  expect((await call("GET", `/api/v1/admin/tenants/${id}/files/${fileId}`)).status).toBe(404);
  expect((await call("DELETE", `/api/v1/admin/tenants/${id}`)).body).toEqual({ success: true });
  expect((await call("GET", `/api/v1/admin/tenants/${id}`)).status).toBe(404);
});
