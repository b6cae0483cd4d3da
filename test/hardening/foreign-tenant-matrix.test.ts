import { afterAll, beforeAll, expect, test } from "bun:test";
import { ADMIN_KEY, createHarness, type Harness, sampleContent } from "../support/harness";
import { multipartBody } from "../support/multipart";

// Tenant A holds every id of tenant B it could learn (files, workspaces, cursors, upload URLs,
// signed URLs, webhook endpoints and deliveries, user keys, storage-module objects, tus uploads)
// and tries each on every route of the LIVE route table. The answer is always 401/403/404 (400 for
// malformed input), never B's data — and B's data is untouched afterwards. A route added to the
// app without a case here fails the first test.

let h: Harness;
const M = `victim${Math.random().toString(36).slice(2, 10)}`; // in B's free text only
interface Ids {
  a: { key: string; id: string; fileId: string; pendingId: string; pendingUrl: string };
  b: {
    key: string;
    id: string;
    webhookSecret: string;
    fileId: string;
    workspaceId: string;
    slug: string;
    pendingId: string;
    pendingUrl: string;
    cursor: string;
    signedUrl: string;
    endpointId: string;
    deliveryId: string;
    userKeyId: string;
    userKey: string;
    storedName: string;
    tusId: string;
    content: Uint8Array<ArrayBuffer>;
  };
}
let ids: Ids;

beforeAll(async () => {
  h = await createHarness({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: true });
  const png = sampleContent("image/png", 3000);
  const A = await h.createTenant({ name: "attacker" });
  const B = await h.createTenant({ name: `${M}-tenant` });
  const upload = async (key: string, extra: Record<string, unknown> = {}, put = true) => {
    const mark = key === B.apiKey ? M : "mine"; // only B's rows carry the marker
    const r = await h.json("POST", "/api/v1/upload/request", {
      key,
      body: { fileType: "image/png", fileName: `${mark}.png`, fileSizeBytes: png.length, context: mark, ...extra },
    });
    if (r.status !== 200) throw new Error(`upload request ${r.status} ${JSON.stringify(r.body)}`);
    if (put) await h.json("PUT", r.body.presignedUrl, { key, body: png });
    return r.body as { fileId: string; presignedUrl: string };
  };
  const slug = `b${Math.random().toString(36).slice(2, 8)}`;
  const ws = await h.json("POST", "/api/v1/workspaces", { key: B.apiKey, body: { name: `${M} ws`, slug } });
  const ep = await h.json("POST", "/api/v1/webhooks", {
    key: B.apiKey,
    body: { url: `http://127.0.0.1:9/${M}`, description: M },
  });
  const bFile = await upload(B.apiKey, { workspaceId: ws.body.id });
  await upload(B.apiKey);
  const bPending = await upload(B.apiKey, {}, false);
  const aFile = await upload(A.apiKey);
  const aPending = await upload(A.apiKey, {}, false);
  const page = await h.json("GET", "/api/v1/files?limit=1", { key: B.apiKey });
  const signed = await h.json("GET", `/api/v1/files/${bFile.fileId}/signed-url`, { key: B.apiKey });
  const deliveries = await h.json("GET", "/api/v1/webhooks/deliveries", { key: B.apiKey });
  const uk = await h.json("POST", "/api/v1/tenant/keys", {
    key: B.apiKey,
    body: { userId: "alice", scopes: ["read", "write", "delete"], name: M },
  });
  const form = multipartBody(
    {},
    { name: `${M}-obj.pdf`, type: "application/pdf", bytes: sampleContent("application/pdf", 500) },
  );
  const stored = await h.json("POST", "/api/v1/storage/upload", {
    key: B.apiKey,
    body: form.body,
    headers: { "content-type": form.contentType },
  });
  const tus = await h.req("POST", "/api/v1/uploads/tus/", {
    key: B.apiKey,
    headers: {
      "tus-resumable": "1.0.0",
      "upload-length": "3000",
      "upload-metadata": `filename ${btoa(`${M}.png`)},filetype ${btoa("image/png")}`,
    },
  });
  const info = await h.json("GET", "/api/v1/tenant/info", { key: B.apiKey });
  const need = { ws, ep, page, signed, deliveries, uk, stored };
  for (const [k, v] of Object.entries(need))
    if (v.status >= 300) throw new Error(`setup ${k}: ${v.status} ${JSON.stringify(v.body)}`);
  if (tus.status !== 201) throw new Error(`setup tus: ${tus.status} ${await tus.text()}`);
  ids = {
    a: { key: A.apiKey, id: A.id, fileId: aFile.fileId, pendingId: aPending.fileId, pendingUrl: aPending.presignedUrl },
    b: {
      key: B.apiKey,
      id: B.id,
      webhookSecret: info.body.webhookSecret,
      fileId: bFile.fileId,
      workspaceId: ws.body.id,
      slug,
      pendingId: bPending.fileId,
      pendingUrl: bPending.presignedUrl,
      cursor: page.body.nextCursor,
      signedUrl: new URL(signed.body.url).pathname + new URL(signed.body.url).search,
      endpointId: ep.body.id,
      deliveryId: deliveries.body.deliveries[0].id,
      userKeyId: uk.body.id,
      userKey: uk.body.apiKey,
      storedName: stored.body.name ?? stored.body.storedName ?? stored.body.fileName,
      tusId: tus.headers.get("location")!.split("/").pop()!,
      content: png,
    },
  };
  if (!ids.b.cursor || !ids.b.storedName || !ids.b.deliveryId)
    throw new Error(`setup incomplete: ${JSON.stringify(ids.b)}`);
});
afterAll(() => h?.close());

/** One probe: A's credentials with B's ids. `own`: a 2xx about A's own data is fine (no B data in it). */
interface Probe {
  method: string;
  path: string;
  key?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
  own?: boolean;
}
const DENIED = [400, 401, 403, 404];
const tusH = { "tus-resumable": "1.0.0" };

/** Every route of the app → the foreign-id probes for it. */
function cases(): Record<string, Probe[]> {
  const { a, b } = ids;
  const asA = (method: string, path: string, extra: Partial<Probe> = {}): Probe => ({
    method,
    path,
    key: a.key,
    ...extra,
  });
  // Admin routes: a tenant key or a user key is not an admin key, whatever id it names.
  const admin = (method: string, path: string, body?: unknown): Probe[] => [
    { method, path, key: a.key, body },
    { method, path, key: b.userKey, body },
    { method, path, key: null, body },
  ];
  const t = b.id;
  return {
    "GET /docs": [asA("GET", "/docs", { own: true })],
    "GET /docs/json": [asA("GET", "/docs/json", { own: true })],
    "GET /health": [asA("GET", "/health", { own: true })],
    "GET /ready": [asA("GET", "/ready", { own: true })],
    "GET /metrics": [asA("GET", "/metrics"), { method: "GET", path: "/metrics", key: b.userKey }],
    "POST /api/v1/admin/tenants": admin("POST", "/api/v1/admin/tenants", { name: "x" }),
    "GET /api/v1/admin/tenants": admin("GET", "/api/v1/admin/tenants"),
    "GET /api/v1/admin/tenants/:id": admin("GET", `/api/v1/admin/tenants/${t}`),
    "PATCH /api/v1/admin/tenants/:id": admin("PATCH", `/api/v1/admin/tenants/${t}`, { quotaBytes: 1 }),
    "DELETE /api/v1/admin/tenants/:id": admin("DELETE", `/api/v1/admin/tenants/${t}`),
    "POST /api/v1/admin/tenants/:id/regenerate-key": admin("POST", `/api/v1/admin/tenants/${t}/regenerate-key`),
    "GET /api/v1/admin/tenants/:id/quota": admin("GET", `/api/v1/admin/tenants/${t}/quota`),
    "POST /api/v1/admin/tenants/:id/recalculate-usage": admin("POST", `/api/v1/admin/tenants/${t}/recalculate-usage`),
    "POST /api/v1/admin/tenants/:id/upload/request": admin("POST", `/api/v1/admin/tenants/${t}/upload/request`, {
      fileType: "image/png",
      fileName: "x.png",
      fileSizeBytes: 10,
    }),
    "GET /api/v1/admin/tenants/:id/files": admin("GET", `/api/v1/admin/tenants/${t}/files`),
    "GET /api/v1/admin/tenants/:id/files/:fileId": admin("GET", `/api/v1/admin/tenants/${t}/files/${b.fileId}`),
    "GET /api/v1/admin/tenants/:id/files/:fileId/signed-url": admin(
      "GET",
      `/api/v1/admin/tenants/${t}/files/${b.fileId}/signed-url`,
    ),
    "DELETE /api/v1/admin/tenants/:id/files/:fileId": admin("DELETE", `/api/v1/admin/tenants/${t}/files/${b.fileId}`),
    "GET /api/v1/admin/tenants/:id/workspaces": admin("GET", `/api/v1/admin/tenants/${t}/workspaces`),
    "PATCH /api/v1/admin/tenants/:id/workspaces/:workspaceId": admin(
      "PATCH",
      `/api/v1/admin/tenants/${t}/workspaces/${b.workspaceId}`,
      { name: "x" },
    ),
    "POST /api/v1/admin/tenants/:id/workspaces": admin("POST", `/api/v1/admin/tenants/${t}/workspaces`, {
      name: "x",
      slug: "x",
    }),
    "GET /api/v1/admin/tenants/:id/files/contexts": admin("GET", `/api/v1/admin/tenants/${t}/files/contexts`),
    "POST /api/v1/admin/tenants/:id/files/migrate-workspace": admin(
      "POST",
      `/api/v1/admin/tenants/${t}/files/migrate-workspace`,
      { fromWorkspaceId: b.workspaceId, toWorkspaceId: null },
    ),
    "GET /api/v1/admin/plans": admin("GET", "/api/v1/admin/plans"),
    "POST /api/v1/admin/plans": admin("POST", "/api/v1/admin/plans", { name: "x", quotaBytes: 1, maxFileSizeBytes: 1 }),
    "PATCH /api/v1/admin/plans/:id": admin("PATCH", `/api/v1/admin/plans/${crypto.randomUUID()}`, { quotaBytes: 1 }),
    "PUT /api/v1/admin/tenants/:id/plan": admin("PUT", `/api/v1/admin/tenants/${t}/plan`, { planId: null }),
    "GET /api/v1/admin/audit": admin("GET", `/api/v1/admin/audit?tenantId=${t}`),
    // The admin console: its static files hold no tenant data; its API is admin-only like the rest.
    "GET /console": [asA("GET", "/console", { own: true })],
    "GET /console/:name": [asA("GET", "/console/app.js", { own: true })],
    "POST /api/v1/admin/session": admin("POST", "/api/v1/admin/session"),
    "GET /api/v1/admin/session": [
      ...admin("GET", "/api/v1/admin/session"),
      { method: "GET", path: "/api/v1/admin/session", headers: { cookie: `sb_console=${a.key}` } },
    ],
    "DELETE /api/v1/admin/session": admin("DELETE", "/api/v1/admin/session"),
    "GET /api/v1/admin/overview": admin("GET", "/api/v1/admin/overview"),
    "GET /api/v1/admin/usage": admin("GET", `/api/v1/admin/usage?tenantId=${t}`),
    "PATCH /api/v1/admin/tenants/:id/files/:fileId": admin("PATCH", `/api/v1/admin/tenants/${t}/files/${b.fileId}`, {
      originalName: "x.png",
    }),
    "GET /api/v1/admin/tenants/:id/files/search": admin("GET", `/api/v1/admin/tenants/${t}/files/search?q=${M}`),
    "GET /api/v1/admin/tenants/:id/webhooks": admin("GET", `/api/v1/admin/tenants/${t}/webhooks`),
    "POST /api/v1/admin/tenants/:id/webhooks": admin("POST", `/api/v1/admin/tenants/${t}/webhooks`, {
      url: "http://127.0.0.1:9/x",
    }),
    "DELETE /api/v1/admin/tenants/:id/webhooks/:webhookId": admin(
      "DELETE",
      `/api/v1/admin/tenants/${t}/webhooks/${b.endpointId}`,
    ),
    "GET /api/v1/admin/tenants/:id/webhooks/deliveries": admin("GET", `/api/v1/admin/tenants/${t}/webhooks/deliveries`),
    "POST /api/v1/admin/tenants/:id/webhooks/deliveries/:deliveryId/retry": admin(
      "POST",
      `/api/v1/admin/tenants/${t}/webhooks/deliveries/${b.deliveryId}/retry`,
    ),
    "POST /api/v1/admin/tenants/:id/webhooks/test": admin("POST", `/api/v1/admin/tenants/${t}/webhooks/test`),
    "GET /api/v1/tenant/info": [asA("GET", "/api/v1/tenant/info", { own: true })],
    "GET /api/v1/tenant/quota": [asA("GET", "/api/v1/tenant/quota", { own: true })],
    "POST /api/v1/tenant/keys": [
      asA("POST", "/api/v1/tenant/keys", { body: { userId: "mallory", scopes: ["read"], workspaceId: b.workspaceId } }),
    ],
    "GET /api/v1/tenant/keys": [asA("GET", "/api/v1/tenant/keys", { own: true })],
    "DELETE /api/v1/tenant/keys/:id": [asA("DELETE", `/api/v1/tenant/keys/${b.userKeyId}`)],
    "POST /api/v1/tenant/webhook-secret/rotate": [asA("POST", "/api/v1/tenant/webhook-secret/rotate", { own: true })],
    "GET /api/v1/workspaces/": [asA("GET", `/api/v1/workspaces?cursor=${b.cursor}`, { own: true })],
    "POST /api/v1/workspaces/": [
      asA("POST", "/api/v1/workspaces", { body: { name: "mine", slug: `a${b.slug}` }, own: true }),
    ],
    "GET /api/v1/workspaces/:workspaceId": [asA("GET", `/api/v1/workspaces/${b.workspaceId}`)],
    "PATCH /api/v1/workspaces/:workspaceId": [
      asA("PATCH", `/api/v1/workspaces/${b.workspaceId}`, { body: { name: "x" } }),
    ],
    "DELETE /api/v1/workspaces/:workspaceId": [asA("DELETE", `/api/v1/workspaces/${b.workspaceId}`)],
    "GET /api/v1/webhooks/": [asA("GET", "/api/v1/webhooks", { own: true })],
    "POST /api/v1/webhooks/": [asA("POST", "/api/v1/webhooks", { body: { url: "http://127.0.0.1:9/a" }, own: true })],
    "GET /api/v1/webhooks/deliveries": [asA("GET", `/api/v1/webhooks/deliveries?cursor=${b.cursor}`, { own: true })],
    "POST /api/v1/webhooks/deliveries/:id/retry": [asA("POST", `/api/v1/webhooks/deliveries/${b.deliveryId}/retry`)],
    "DELETE /api/v1/webhooks/:id": [asA("DELETE", `/api/v1/webhooks/${b.endpointId}`)],
    "POST /api/v1/storage/upload": [
      (() => {
        const f = multipartBody(
          {},
          { name: "a.pdf", type: "application/pdf", bytes: sampleContent("application/pdf", 100) },
        );
        return asA("POST", `/api/v1/storage/upload?bucket=${b.slug}`, {
          body: f.body,
          headers: { "content-type": f.contentType },
        });
      })(),
    ],
    "GET /api/v1/storage/buckets": [asA("GET", "/api/v1/storage/buckets", { own: true })],
    "GET /api/v1/storage/buckets/:bucket/objects": [asA("GET", `/api/v1/storage/buckets/${b.slug}/objects`)],
    "GET /api/v1/storage/files": [
      asA("GET", `/api/v1/storage/files?bucket=${b.slug}`),
      asA("GET", "/api/v1/storage/files?userId=alice", { own: true }),
    ],
    "GET /api/v1/storage/objects/:name/metadata": [
      asA("GET", `/api/v1/storage/objects/${encodeURIComponent(b.storedName)}/metadata`),
      asA("GET", `/api/v1/storage/objects/${encodeURIComponent(b.storedName)}/metadata?userId=alice`),
    ],
    "GET /api/v1/storage/objects/:name/presigned-url": [
      asA("GET", `/api/v1/storage/objects/${encodeURIComponent(b.storedName)}/presigned-url`),
    ],
    "DELETE /api/v1/storage/objects/:name": [
      asA("DELETE", `/api/v1/storage/objects/${encodeURIComponent(b.storedName)}`),
    ],
    "GET /api/v1/storage/usage": [asA("GET", "/api/v1/storage/usage", { own: true })],
    "GET /api/v1/storage/quota": [asA("GET", "/api/v1/storage/quota", { own: true })],
    "POST /api/v1/upload/request": [
      asA("POST", "/api/v1/upload/request", {
        body: { fileType: "image/png", fileName: "a.png", fileSizeBytes: 10, workspaceId: b.workspaceId },
      }),
      asA("POST", "/api/v1/upload/request", {
        body: { fileType: "image/png", fileName: "a.png", fileSizeBytes: 10 },
        headers: { "x-workspace-id": b.workspaceId },
      }),
    ],
    "PUT /_internal/upload/tenants/:tenantId/files/:fileId/*": [
      // B's upload path with A's key (no token); B's token on A's pending upload; A's path, B's tenant.
      asA("PUT", b.pendingUrl.split("?")[0]!, { body: ids.b.content }),
      {
        method: "PUT",
        path: a.pendingUrl.split("?")[0]!.replace(a.id, b.id) + "?" + b.pendingUrl.split("?")[1],
        key: null,
        body: ids.b.content,
      },
      {
        method: "PUT",
        path: b.pendingUrl.split("?")[0]!.replace(b.pendingId, a.pendingId) + "?" + b.pendingUrl.split("?")[1],
        key: null,
        body: ids.b.content,
      },
    ],
    "POST /api/v1/uploads/tus/": [
      asA("POST", "/api/v1/uploads/tus/", {
        headers: {
          ...tusH,
          "upload-length": "10",
          "upload-metadata": `filename ${btoa("a.png")},filetype ${btoa("image/png")},workspaceId ${btoa(b.workspaceId)}`,
        },
      }),
    ],
    "PATCH /api/v1/uploads/tus/:fileId": [
      asA("PATCH", `/api/v1/uploads/tus/${b.tusId}`, {
        body: new Uint8Array(10),
        headers: { ...tusH, "upload-offset": "0", "content-type": "application/offset+octet-stream" },
      }),
    ],
    "DELETE /api/v1/uploads/tus/:fileId": [asA("DELETE", `/api/v1/uploads/tus/${b.tusId}`, { headers: tusH })],
    "GET /api/v1/files/:fileId/download": [
      asA("GET", `/api/v1/files/${b.fileId}/download`),
      // B's signed token on A's file, and on B's file under A's key (the token names the file, so
      // the key adds nothing): only the file it was signed for, and only that.
      { method: "GET", path: b.signedUrl.replace(b.fileId, a.fileId), key: a.key },
      { method: "GET", path: b.signedUrl.replace(b.fileId, b.pendingId), key: null },
    ],
    "GET /api/v1/files/": [
      asA("GET", `/api/v1/files?workspaceId=${b.workspaceId}`),
      asA("GET", "/api/v1/files", { headers: { "x-workspace-id": b.workspaceId } }),
      asA("GET", `/api/v1/files?cursor=${b.cursor}`, { own: true }),
      asA("GET", `/api/v1/files?context=${M}`, { own: true }),
    ],
    "GET /api/v1/files/contexts": [asA("GET", `/api/v1/files/contexts?workspaceId=${b.workspaceId}`)],
    "GET /api/v1/files/:fileId": [asA("GET", `/api/v1/files/${b.fileId}`), asA("GET", `/api/v1/files/${b.pendingId}`)],
    "PATCH /api/v1/files/:fileId": [asA("PATCH", `/api/v1/files/${b.fileId}`, { body: { fileName: "x.png" } })],
    "DELETE /api/v1/files/:fileId": [asA("DELETE", `/api/v1/files/${b.fileId}`)],
    "GET /api/v1/files/:fileId/signed-url": [asA("GET", `/api/v1/files/${b.fileId}/signed-url`)],
    "GET /api/v1/files/:fileId/permanent-url": [asA("GET", `/api/v1/files/${b.fileId}/permanent-url`)],
  };
}

const liveRoutes = () =>
  (h.app.routes as { method: string; path: string }[])
    .filter((r) => r.method !== "OPTIONS")
    .map((r) => `${r.method} ${r.path}`);

test("every route of the live route table has a foreign-tenant case", () => {
  const c = cases();
  expect(liveRoutes().filter((r) => !c[r])).toEqual([]);
});

test("B's ids on every route with A's credentials: 401/403/404 (or A's own data), never B's data", async () => {
  const c = cases();
  const leaks: string[] = [];
  for (const route of liveRoutes()) {
    for (const p of c[route] ?? []) {
      const res = await h.req(p.method, p.path, { key: p.key ?? null, body: p.body, headers: p.headers });
      const text = await res.text();
      const where = `${route} ← ${p.method} ${p.path.slice(0, 120)} → ${res.status}`;
      const allowed = p.own ? res.status < 300 || DENIED.includes(res.status) : DENIED.includes(res.status);
      if (!allowed) leaks.push(`${where}: status ${text.slice(0, 200)}`);
      // A marker the probe itself carried (a stored name echoed in a 404's details) is not a leak.
      const echoed = p.path.includes(M);
      if ((!echoed && text.includes(M)) || text.includes(ids.b.webhookSecret) || text.includes(ids.b.userKey))
        leaks.push(`${where}: B's data in the answer ${text.slice(0, 200)}`);
    }
  }
  // tus HEAD is answered before routing (it is not in the route table): probe it as well.
  const head = await h.req("HEAD", `/api/v1/uploads/tus/${ids.b.tusId}`, { key: ids.a.key, headers: tusH });
  if (!DENIED.includes(head.status)) leaks.push(`HEAD tus → ${head.status}`);
  expect(leaks).toEqual([]);
});

test("afterwards B's data is untouched", async () => {
  const { b } = ids;
  const dl = await h.req("GET", `/api/v1/files/${b.fileId}/download`, { key: b.key });
  expect(new Uint8Array(await dl.arrayBuffer())).toEqual(b.content);
  expect((await h.json("GET", `/api/v1/workspaces/${b.workspaceId}`, { key: b.key })).body.name).toBe(`${M} ws`);
  const endpoints = (await h.json("GET", "/api/v1/webhooks", { key: b.key })).body;
  expect(JSON.stringify(endpoints)).toContain(b.endpointId);
  expect((await h.json("GET", `/api/v1/files/${b.pendingId}`, { key: b.key })).body.processingStatus).toBe("pending");
  expect((await h.req("GET", "/api/v1/storage/quota", { key: b.userKey })).status).toBe(200);
  expect(
    (await h.json("GET", `/api/v1/storage/objects/${encodeURIComponent(b.storedName)}/metadata`, { key: b.key }))
      .status,
  ).toBe(200);
  expect((await h.json("GET", "/api/v1/tenant/info", { key: b.key })).body.webhookSecret).toBe(b.webhookSecret);
  const tusHead = await h.req("HEAD", `/api/v1/uploads/tus/${b.tusId}`, { key: b.key, headers: tusH });
  expect(tusHead.status).toBe(200);
  expect((await h.json("GET", `/api/v1/admin/tenants/${b.id}`, { key: ADMIN_KEY })).body.name).toBe(`${M}-tenant`);
});
