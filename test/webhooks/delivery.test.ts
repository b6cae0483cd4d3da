import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { assertPublicTarget, isPublicAddress } from "../../src/domain/webhooks/ssrf-guard";
import { deliverDueWebhooks } from "../../src/jobs/webhook-delivery";
import { silentLogger } from "../../src/logger";
import { createHarness, type Harness, inProcessOnly, sampleContent } from "../support/harness";
import { startReceiver } from "../support/receiver";

let h: Harness;
let t: { id: string; apiKey: string };
beforeAll(async () => {
  h = await createHarness({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: true, WEBHOOK_BACKOFF_MS: 1000, WEBHOOK_MAX_ATTEMPTS: 3 });
  t = await h.createTenant();
});
afterAll(() => h.close());

const sender = (extra: Partial<Parameters<typeof deliverDueWebhooks>[0]> = {}) =>
  deliverDueWebhooks({
    repos: h.rt.repos,
    clock: h.clock,
    logger: silentLogger,
    maxAttempts: 3,
    backoffMs: 1000,
    timeoutMs: 2000,
    allowPrivateNetworks: true,
    webhookSecretOf: h.services.tenants.webhookSecretOf,
    ...extra,
  });

async function uploadWithHook(
  webhookUrl: string | undefined,
  content = sampleContent("image/png", 256),
  type = "image/png",
) {
  h.clock.advance(1); // distinct createdAt, so "newest delivery" is well defined
  const r = await h.json("POST", "/api/v1/upload/request", {
    key: t.apiKey,
    body: { fileType: type, fileName: "w.png", fileSizeBytes: content.byteLength, webhookUrl, context: "hooks" },
  });
  expect(r.status).toBe(200);
  await h.json("PUT", r.body.presignedUrl, { key: t.apiKey, body: content });
  return r.body.fileId as string;
}

const verify = (secret: string, headers: Headers, body: string) =>
  headers.get("x-storagebrain-signature") ===
  `sha256=${createHmac("sha256", secret)
    .update(`${headers.get("x-storagebrain-timestamp")}.${body}`)
    .digest("hex")}`;

/**
 * These tests run the delivery job by hand on a ManualClock (attempt timing, backoff); against
 * the binary its own sender delivers instead, which test/webhooks/restart.test.ts exercises.
 */
const senderTest = inProcessOnly("drives the webhook sender by hand on a ManualClock");

describe("webhook delivery", () => {
  senderTest("success on the first try: the documented payload, signed headers", async () => {
    const rx = startReceiver();
    try {
      const fileId = await uploadWithHook(rx.url);
      expect(await sender()).toBe(1);
      const [got] = await rx.waitFor(1);
      const body = JSON.parse(got!.body);
      expect(Object.keys(body).sort()).toEqual(["event", "file", "fileId", "tenantId", "timestamp", "workspaceId"]);
      expect(body).toMatchObject({
        event: "file.uploaded",
        fileId,
        tenantId: t.id,
        workspaceId: null,
        file: { id: fileId, processingStatus: "completed", context: "hooks" },
      });
      expect(got!.headers.get("x-storagebrain-event")).toBe("file.uploaded");
      expect(got!.headers.get("x-storagebrain-delivery")).toMatch(/^[0-9a-f-]{36}$/);
      expect(Math.abs(Number(got!.headers.get("x-storagebrain-timestamp")) - h.clock.now() / 1000)).toBeLessThan(2);
      const secret = (await h.json("GET", "/api/v1/tenant/info", { key: t.apiKey })).body.webhookSecret;
      expect(verify(secret, got!.headers, got!.body)).toBe(true);
      expect(verify("whsec_other", got!.headers, got!.body)).toBe(false);
      const list = await h.json("GET", "/api/v1/webhooks/deliveries", { key: t.apiKey });
      expect(list.body.deliveries[0]).toMatchObject({ fileId, status: "delivered", attempts: 1, lastError: null });
    } finally {
      rx.stop();
    }
  });

  senderTest("failing twice then succeeding → delivered on the 3rd attempt, 1 s then 2 s apart", async () => {
    const rx = startReceiver((n) => new Response("no", { status: n < 3 ? 500 : 200 }));
    try {
      await uploadWithHook(rx.url);
      const times: number[] = [];
      for (let step = 0; step < 40 && rx.received.length < 3; step++) {
        const before = rx.received.length;
        await sender();
        if (rx.received.length > before) times.push(h.clock.now());
        h.clock.advance(100);
      }
      expect(rx.received.length).toBe(3);
      expect(times[1]! - times[0]!).toBe(1000);
      expect(times[2]! - times[1]!).toBe(2000);
      const ids = new Set(rx.received.map((r) => r.headers.get("x-storagebrain-delivery")));
      expect(ids.size).toBe(1); // same delivery id on every attempt
      const d = (await h.json("GET", "/api/v1/webhooks/deliveries?limit=1", { key: t.apiKey })).body.deliveries[0];
      expect(d).toMatchObject({ status: "delivered", attempts: 3 });
    } finally {
      rx.stop();
    }
  });

  senderTest("always failing → dead after 3 attempts; retry re-queues it", async () => {
    const rx = startReceiver(() => new Response("down", { status: 503 }));
    try {
      await uploadWithHook(rx.url);
      for (let i = 0; i < 3; i++) {
        await sender();
        h.clock.advance(10_000);
      }
      await sender();
      expect(rx.received.length).toBe(3);
      const d = (await h.json("GET", "/api/v1/webhooks/deliveries?status=dead&limit=1", { key: t.apiKey })).body
        .deliveries[0];
      expect(d).toMatchObject({ status: "dead", attempts: 3, lastError: "HTTP 503", lastStatusCode: 503 });
      const retry = await h.json("POST", `/api/v1/webhooks/deliveries/${d.id}/retry`, { key: t.apiKey });
      expect(retry.body).toMatchObject({ status: "pending", attempts: 0 });
      await sender();
      expect(rx.received.length).toBe(4);
      expect((await h.json("POST", `/api/v1/webhooks/deliveries/${d.id}/retry`, { key: t.apiKey })).status).toBe(409);
    } finally {
      rx.stop();
    }
  });

  senderTest("a redirect is not followed and counts as a failed attempt", async () => {
    const target = startReceiver();
    const rx = startReceiver(() => new Response(null, { status: 302, headers: { location: target.url } }));
    try {
      await uploadWithHook(rx.url);
      await sender();
      expect(rx.received.length).toBe(1);
      await Bun.sleep(50);
      expect(target.received.length).toBe(0);
      const d = (await h.json("GET", "/api/v1/webhooks/deliveries?limit=1", { key: t.apiKey })).body.deliveries[0];
      expect(d).toMatchObject({ status: "pending", attempts: 1, lastStatusCode: 302 });
    } finally {
      rx.stop();
      target.stop();
      h.clock.advance(3_600_000);
      await sender(); // drain
    }
  });

  senderTest("a receiver that never answers times out as a failed attempt", async () => {
    const rx = startReceiver(() => new Promise<Response>(() => {}));
    try {
      await uploadWithHook(rx.url);
      const t0 = Date.now();
      await sender({ timeoutMs: 200 });
      expect(Date.now() - t0).toBeLessThan(2000);
      const d = (await h.json("GET", "/api/v1/webhooks/deliveries?limit=1", { key: t.apiKey })).body.deliveries[0];
      expect(d.lastError).toContain("timed out");
    } finally {
      rx.stop();
    }
  });

  senderTest(
    "file.failed fires for a type mismatch; default endpoints receive the events they subscribe to",
    async () => {
      const all = startReceiver();
      const failedOnly = startReceiver();
      try {
        const e1 = await h.json("POST", "/api/v1/webhooks", { key: t.apiKey, body: { url: all.url } });
        expect(e1.status).toBe(201);
        expect(e1.body.events).toEqual(["file.uploaded", "file.failed"]);
        const e2 = await h.json("POST", "/api/v1/webhooks", {
          key: t.apiKey,
          body: { url: failedOnly.url, events: ["file.failed"] },
        });
        expect((await h.json("GET", "/api/v1/webhooks", { key: t.apiKey })).body.webhooks).toHaveLength(2);
        await uploadWithHook(undefined);
        await uploadWithHook(undefined, new TextEncoder().encode("not a png"));
        await sender();
        // Both are due at once and the pool sends them side by side: each attempt's own queries
        // (tenant, secret) decide which reaches the receiver first (on PostgreSQL, either).
        expect(all.received.map((r) => JSON.parse(r.body).event).sort()).toEqual(["file.failed", "file.uploaded"]);
        expect(failedOnly.received.map((r) => JSON.parse(r.body).event)).toEqual(["file.failed"]);
        expect(JSON.parse(failedOnly.received[0]!.body).file.metadata.failureReason).toBe("type_mismatch");
        for (const e of [e1, e2])
          expect((await h.json("DELETE", `/api/v1/webhooks/${e.body.id}`, { key: t.apiKey })).body).toEqual({
            success: true,
          });
        expect(
          (
            await h.json("POST", "/api/v1/webhooks", {
              key: t.apiKey,
              body: { url: all.url, events: ["file.deleted"] },
            })
          ).status,
        ).toBe(400);
      } finally {
        all.stop();
        failedOnly.stop();
      }
    },
  );

  senderTest("a slow receiver holds one slot, not the other deliveries", async () => {
    const slow = startReceiver(async () => {
      await Bun.sleep(1500);
      return new Response("late");
    });
    const fast = startReceiver();
    try {
      await uploadWithHook(slow.url);
      await uploadWithHook(fast.url);
      await uploadWithHook(fast.url);
      const t0 = Date.now();
      const run = sender({ concurrency: 2, timeoutMs: 5000 });
      await fast.waitFor(2, 1000);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(await run).toBe(3);
      expect(slow.received.length).toBe(1);
    } finally {
      slow.stop();
      fast.stop();
    }
  });

  senderTest("a delivery that becomes due while a slow one is in flight does not wait for it", async () => {
    const slow = startReceiver(async () => {
      await Bun.sleep(2000);
      return new Response("late");
    });
    const fast = startReceiver();
    try {
      await uploadWithHook(slow.url);
      const run = sender({ timeoutMs: 5000 });
      await slow.waitFor(1);
      const t0 = Date.now();
      await uploadWithHook(fast.url); // enqueued mid-run
      await fast.waitFor(1, 1500);
      expect(Date.now() - t0).toBeLessThan(1500);
      await run;
    } finally {
      slow.stop();
      fast.stop();
    }
  });

  senderTest("rotating the webhook secret changes the signature key", async () => {
    const rx = startReceiver();
    try {
      const rotated = await h.json("POST", "/api/v1/tenant/webhook-secret/rotate", { key: t.apiKey });
      expect(rotated.body.webhookSecret).toStartWith("whsec_");
      await uploadWithHook(rx.url);
      await sender();
      const [got] = await rx.waitFor(1);
      expect(verify(rotated.body.webhookSecret, got!.headers, got!.body)).toBe(true);
    } finally {
      rx.stop();
    }
  });
});

describe("SSRF guard", () => {
  test("address classification (IPv4, IPv6, mapped)", () => {
    for (const ip of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "fe80::1",
      "fd00::1",
      "::ffff:127.0.0.1",
      "::ffff:10.0.0.1",
      "224.0.0.1",
      "::",
      "::127.0.0.1",
      "::7f00:1",
    ]) {
      expect(isPublicAddress(ip)).toBe(false);
    }
    for (const ip of ["93.184.216.34", "2606:4700:4700::1111", "8.8.8.8"]) expect(isPublicAddress(ip)).toBe(true);
  });

  test("names resolving to loopback are refused at delivery", async () => {
    await expect(assertPublicTarget(new URL("http://localhost:9/"))).rejects.toThrow(/non-public/);
    await expect(assertPublicTarget(new URL("http://[::ffff:169.254.169.254]/"))).rejects.toThrow(/non-public/);
  });

  test("with the flag off, private targets are refused at request time and at delivery", async () => {
    const strict = await createHarness({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: false });
    const rx = startReceiver();
    try {
      const st = await strict.createTenant();
      const bad = await strict.json("POST", "/api/v1/upload/request", {
        key: st.apiKey,
        body: { fileType: "image/png", fileName: "a.png", fileSizeBytes: 10, webhookUrl: rx.url },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe("VALIDATION_ERROR");
      expect(
        (await strict.json("POST", "/api/v1/webhooks", { key: st.apiKey, body: { url: "http://localhost:8080/x" } }))
          .status,
      ).toBe(400);
      // A delivery that slipped in (e.g. DNS changed later) is refused when sent, and not retried.
      await strict.rt.repos.webhooks.insertDelivery({
        id: crypto.randomUUID(),
        tenantId: st.id,
        event: "file.uploaded",
        fileId: null,
        url: rx.url,
        payload: "{}",
        createdAt: strict.clock.now(),
      });
      await deliverDueWebhooks({
        repos: strict.rt.repos,
        clock: strict.clock,
        logger: silentLogger,
        maxAttempts: 3,
        backoffMs: 1000,
        timeoutMs: 1000,
        allowPrivateNetworks: false,
        webhookSecretOf: strict.services.tenants.webhookSecretOf,
      });
      expect(rx.received.length).toBe(0);
      const d = (await strict.json("GET", "/api/v1/webhooks/deliveries", { key: st.apiKey })).body.deliveries[0];
      expect(d.status).toBe("dead");
      expect(d.lastError).toContain("non-public");
    } finally {
      rx.stop();
      await strict.close();
    }
  });
});
