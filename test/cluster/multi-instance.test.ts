import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Cluster, startCluster } from "../support/cluster";
import { eventually, LIVE_ADMIN_KEY, type LiveServer } from "../support/live-server";
import { pngBytes } from "../support/ops-client";
import { startReceiver } from "../support/receiver";

// Several instances of one deployment (README "Scaling out"): one PostgreSQL database, one S3
// bucket, the same keys. Whatever instance a request lands on, the answer is the same; work the
// background jobs do is done once, by one of them; an instance that dies mid-work has it retaken.

const MiB = 1024 * 1024;

async function requestUpload(s: LiveServer, key: string, size: number, extra: Record<string, unknown> = {}) {
  const r = await s.call("POST", "/api/v1/upload/request", {
    key,
    body: { fileType: "image/png", fileName: "c.png", fileSizeBytes: size, ...extra },
  });
  return r;
}

async function uploadVia(req: LiveServer, put: LiveServer, key: string, bytes: Uint8Array) {
  const r = await requestUpload(req, key, bytes.length);
  expect(r.status).toBe(200);
  const done = await put.call("PUT", r.body.presignedUrl, { body: bytes });
  expect(done.status).toBe(200);
  expect(done.body.processingStatus).toBe("completed");
  return r.body.fileId as string;
}

describe("three instances, one database, one bucket", () => {
  let c: Cluster;
  let receiverHits: Map<string, number>;
  let receiver: ReturnType<typeof startReceiver>;
  beforeAll(async () => {
    receiverHits = new Map();
    receiver = startReceiver((_n, req) => {
      const id = req.headers.get("x-storagebrain-delivery") ?? "";
      receiverHits.set(id, (receiverHits.get(id) ?? 0) + 1);
      return new Response("ok");
    });
    c = await startCluster(3, { UPLOAD_EXPIRY_INTERVAL_SECONDS: "1" });
  }, 60_000);
  afterAll(async () => {
    receiver.stop();
    await c?.close();
  });

  test("a presigned PUT from one instance lands on another; every instance serves the file, its ranges and signed URLs", async () => {
    const [a, b, d] = c.instances as [LiveServer, LiveServer, LiveServer];
    const { apiKey } = await a.createTenant();
    const bytes = pngBytes(3 * MiB + 17, 1);
    const fileId = await uploadVia(a, b, apiKey, bytes);
    for (const s of [a, b, d]) {
      const full = await fetch(`${s.url}/api/v1/files/${fileId}/download`, {
        headers: { authorization: `Bearer ${apiKey}` },
      });
      expect(full.status).toBe(200);
      expect(full.headers.get("content-length")).toBe(String(bytes.length));
      expect(Buffer.compare(Buffer.from(await full.arrayBuffer()), Buffer.from(bytes))).toBe(0);
      const part = await fetch(`${s.url}/api/v1/files/${fileId}/download`, {
        headers: { authorization: `Bearer ${apiKey}`, range: "bytes=1048570-1048600" },
      });
      expect(part.status).toBe(206);
      expect(Buffer.compare(Buffer.from(await part.arrayBuffer()), Buffer.from(bytes.subarray(1048570, 1048601)))).toBe(
        0,
      );
    }
    // A signed URL made by one instance is honoured by the others (same URL signing secret).
    const signed = await d.call("GET", `/api/v1/files/${fileId}/signed-url?expiresIn=120`, { key: apiKey });
    expect(signed.status).toBe(200);
    const path = new URL(signed.body.url, "http://x").pathname + new URL(signed.body.url, "http://x").search;
    for (const s of [a, b]) {
      const res = await fetch(`${s.url}${path}`);
      expect(res.status).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBe(bytes.length);
    }
    // The listing and the quota agree everywhere.
    for (const s of [a, b, d]) {
      const q = await s.call("GET", "/api/v1/tenant/quota", { key: apiKey });
      expect(q.body.usedBytes).toBe(bytes.length);
      const list = await s.call("GET", "/api/v1/files", { key: apiKey });
      expect(list.body.files.map((f: { id: string }) => f.id)).toEqual([fileId]);
    }
  }, 60_000);

  test("40 concurrent upload requests spread over the instances never overshoot the quota (20 rounds)", async () => {
    const size = 1000;
    for (let round = 0; round < 20; round++) {
      const { apiKey } = await c.instances[0]!.createTenant(10 * size);
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => requestUpload(c.instances[i % c.instances.length]!, apiKey, size)),
      );
      const ok = answers.filter((r) => r.status === 200).length;
      const refused = answers.filter((r) => r.status === 403 && r.body.error.code === "QUOTA_EXCEEDED").length;
      expect({ round, ok, refused }).toEqual({ round, ok: 10, refused: 30 });
      const q = await c.instances[round % c.instances.length]!.call("GET", "/api/v1/tenant/quota", { key: apiKey });
      expect(q.body.reservedBytes).toBe(10 * size);
      expect(q.body.usedBytes + q.body.reservedBytes).toBeLessThanOrEqual(q.body.quotaBytes);
    }
  }, 120_000);

  test("every instance runs the webhook sender, and each event is delivered exactly once", async () => {
    const [a] = c.instances as [LiveServer];
    const { apiKey } = await a.createTenant();
    const hook = await a.call("POST", "/api/v1/webhooks", { key: apiKey, body: { url: receiver.url } });
    expect(hook.status).toBe(201);
    const before = receiver.received.length;
    const n = 24;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        uploadVia(c.instances[i % 3]!, c.instances[(i + 1) % 3]!, apiKey, pngBytes(2048, i)),
      ),
    );
    await receiver.waitFor(before + n, 20_000);
    await Bun.sleep(1500); // a second send would arrive by now
    const ids = receiver.received.slice(before).map((r) => r.headers.get("x-storagebrain-delivery"));
    expect(new Set(ids).size).toBe(n);
    expect(receiver.received.length - before).toBe(n);
  }, 60_000);

  test("uploads that expire are expired once, whichever instance's job finds them", async () => {
    const { apiKey } = await c.instances[0]!.createTenant();
    const hook = await c.instances[0]!.call("POST", "/api/v1/webhooks", {
      key: apiKey,
      body: { url: receiver.url, events: ["file.failed"] },
    });
    expect(hook.status).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await c.instances[i % 3]!.call("POST", "/api/v1/upload/request", {
        key: apiKey,
        body: { fileType: "image/png", fileName: "e.png", fileSizeBytes: 100 },
      });
      expect(r.status).toBe(200);
      ids.push(r.body.fileId);
    }
    // Age them past their expiry in the shared database (the API's shortest expiry is a minute).
    const { SQL } = await import("bun");
    const sql = new SQL({ url: c.db.url, max: 1 });
    await sql`UPDATE files SET upload_expires_at = ${Date.now() - 1000} WHERE id IN ${sql(ids)}`;
    await sql.close();
    await eventually(
      async () => {
        const q = await c.instances[1]!.call("GET", "/api/v1/tenant/quota", { key: apiKey });
        return q.body.reservedBytes === 0;
      },
      20_000,
      "every reservation released",
    );
    const failedFor = (id: string) =>
      receiver.received.filter((r) => r.body.includes(`"${id}"`) && r.body.includes("file.failed")).length;
    await eventually(() => ids.every((id) => failedFor(id) >= 1), 20_000, "a file.failed event per upload");
    await Bun.sleep(2500); // two more job runs on each instance
    expect(ids.map(failedFor)).toEqual(ids.map(() => 1));
    for (const id of ids) {
      const f = await c.instances[2]!.call("GET", `/api/v1/files/${id}`, { key: apiKey });
      expect(f.body.processingStatus).toBe("failed");
    }
  }, 60_000);
});

describe("an instance killed mid-delivery", () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster(1, { WEBHOOK_TIMEOUT_MS: "1500" });
  }, 60_000);
  afterAll(async () => {
    await c?.close();
  });

  test("its claimed delivery is retaken by another instance after the lease and delivered", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    // The first attempt never gets an answer: the instance sending it dies while it waits.
    const receiver = startReceiver(async (n) => {
      if (n === 1) await held;
      return new Response("ok");
    });
    try {
      const [a] = c.instances as [LiveServer];
      const { id: tenantId, apiKey } = await a.createTenant();
      expect((await a.call("POST", "/api/v1/webhooks", { key: apiKey, body: { url: receiver.url } })).status).toBe(201);
      await uploadVia(a, a, apiKey, pngBytes(4096, 9));
      const [first] = await receiver.waitFor(1, 15_000);
      const deliveryId = first!.headers.get("x-storagebrain-delivery");
      const b = await c.add();
      await a.stop("SIGKILL");
      const [, second] = await receiver.waitFor(2, 30_000);
      expect(second!.headers.get("x-storagebrain-delivery")).toBe(deliveryId);
      await eventually(
        async () => {
          const d = await b.call("GET", `/api/v1/admin/tenants/${tenantId}/webhooks/deliveries`, {
            key: LIVE_ADMIN_KEY,
          });
          return d.body.deliveries?.find((x: { id: string }) => x.id === deliveryId)?.status === "delivered";
        },
        10_000,
        "the delivery recorded as delivered",
      );
      expect(receiver.received.length).toBe(2);
    } finally {
      release();
      receiver.stop();
    }
  }, 90_000);
});
