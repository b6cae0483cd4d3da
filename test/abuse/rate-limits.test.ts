import { afterAll, describe, expect, test } from "bun:test";
import { MemoryRateLimitStore } from "../../src/domain/limits/rate-limit-store";
import { ADMIN_KEY, createHarness, type Harness, inProcessOnly, sampleContent } from "../support/harness";

/** Rate limits with the harness's ManualClock: time moves by hand, nothing sleeps. */
const harnesses: Harness[] = [];
afterAll(async () => {
  for (const h of harnesses) await h.close();
});
const clockTest = inProcessOnly("moves the ManualClock to refill buckets");
async function harness(settings: Record<string, unknown>) {
  const h = await createHarness(settings);
  harnesses.push(h);
  return h;
}

const limitHeaders = (res: Response) => ({
  limit: res.headers.get("ratelimit-limit"),
  remaining: res.headers.get("ratelimit-remaining"),
  reset: res.headers.get("ratelimit-reset"),
});

describe("per API key token bucket", () => {
  clockTest(
    "burst, then 429 RATE_LIMITED with Retry-After and RateLimit-*; refills with time; keys are independent",
    async () => {
      const h = await harness({ RATE_LIMIT_PER_SECOND: 2, RATE_LIMIT_BURST: 3 });
      const a = await h.createTenant({ name: "rl-a" });
      const b = await h.createTenant({ name: "rl-b" });
      const seen: (string | null)[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await h.req("GET", "/api/v1/tenant/quota", { key: a.apiKey });
        expect(res.status).toBe(200);
        expect(limitHeaders(res).limit).toBe("3");
        seen.push(limitHeaders(res).remaining);
      }
      expect(seen).toEqual(["2", "1", "0"]);
      const refused = await h.req("GET", "/api/v1/tenant/quota", { key: a.apiKey });
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(limitHeaders(refused)).toEqual({ limit: "3", remaining: "0", reset: "2" });
      // Exposed to browsers (CORS), so a web client can back off too.
      const cors = await h.req("GET", "/api/v1/tenant/quota", {
        key: b.apiKey,
        headers: { origin: "https://app.example" },
      });
      const exposed = (cors.headers.get("access-control-expose-headers") ?? "").toLowerCase();
      for (const name of ["retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"])
        expect(exposed).toContain(name);
      // Another tenant's key has its own bucket.
      expect((await h.req("GET", "/api/v1/tenant/quota", { key: b.apiKey })).status).toBe(200);
      // 500 ms = one token at 2/s: one more request, then refused again.
      h.clock.advance(500);
      expect((await h.req("GET", "/api/v1/tenant/quota", { key: a.apiKey })).status).toBe(200);
      expect((await h.req("GET", "/api/v1/tenant/quota", { key: a.apiKey })).status).toBe(429);
      // A refused request spends nothing: after 1.5 s the full burst is back.
      h.clock.advance(1500);
      for (let i = 0; i < 3; i++)
        expect((await h.req("GET", "/api/v1/tenant/quota", { key: a.apiKey })).status).toBe(200);
    },
  );

  clockTest("user keys and the admin key are limited per key too; a body is never read when refused", async () => {
    const h = await harness({ RATE_LIMIT_PER_SECOND: 1, RATE_LIMIT_BURST: 2 });
    const t = await h.createTenant({ name: "rl-user" }); // spends one admin token
    h.clock.advance(10_000);
    const user = (
      await h.json("POST", "/api/v1/tenant/keys", { key: t.apiKey, body: { userId: "u", scopes: ["read"] } })
    ).body.apiKey as string;
    for (let i = 0; i < 2; i++) expect((await h.req("GET", "/api/v1/storage/quota", { key: user })).status).toBe(200);
    expect((await h.req("GET", "/api/v1/storage/quota", { key: user })).status).toBe(429);
    for (let i = 0; i < 2; i++)
      expect((await h.req("GET", "/api/v1/admin/tenants", { key: ADMIN_KEY })).status).toBe(200);
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled += 1;
        c.enqueue(new TextEncoder().encode('{"name":"x"}'));
        c.close();
      },
    });
    const res = await h.app.handle(
      new Request("http://localhost/api/v1/admin/tenants", {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
        body,
      }),
    );
    expect(res.status).toBe(429);
    expect(pulled).toBeLessThanOrEqual(1);
    expect((await h.json("GET", "/api/v1/admin/tenants", { key: ADMIN_KEY, headers: {} })).status).toBe(429);
  });

  test("off by default: many requests, no 429 and no RateLimit headers", async () => {
    const h = await harness({});
    const t = await h.createTenant({ name: "rl-off" });
    for (let i = 0; i < 60; i++) {
      const res = await h.req("GET", "/api/v1/tenant/quota", { key: t.apiKey });
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit-limit")).toBeNull();
    }
  });
});

describe("failed authentication per client address (stricter)", () => {
  const from = (ip: string) => ({ "x-forwarded-for": ip });

  clockTest(
    "an address out of failure budget gets 429 for everything, other addresses are unaffected; refills with time",
    async () => {
      const h = await harness({ TRUST_PROXY: true, AUTH_FAILURE_LIMIT_PER_MINUTE: 60, AUTH_FAILURE_BURST: 3 });
      const t = await h.createTenant({ name: "rl-fail" });
      const bad = "10.9.8.7";
      for (let i = 0; i < 3; i++)
        expect((await h.req("GET", "/api/v1/tenant/quota", { key: "sk_live_guess", headers: from(bad) })).status).toBe(
          401,
        );
      const blocked = await h.req("GET", "/api/v1/tenant/quota", { key: "sk_live_guess", headers: from(bad) });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      // Even a valid key is refused from there (a correct guess would not stand out) ...
      expect((await h.req("GET", "/api/v1/tenant/quota", { key: t.apiKey, headers: from(bad) })).status).toBe(429);
      // ... and a client-supplied X-Forwarded-For prefix does not escape: the proxy's entry counts.
      expect(
        (await h.req("GET", "/api/v1/tenant/quota", { key: t.apiKey, headers: from(`192.0.2.1, ${bad}`) })).status,
      ).toBe(429);
      // Other addresses and successful requests are not touched.
      expect((await h.req("GET", "/api/v1/tenant/quota", { key: t.apiKey, headers: from("10.1.1.1") })).status).toBe(
        200,
      );
      // Health probes are never refused.
      expect((await h.req("GET", "/health", { headers: from(bad) })).status).toBe(200);
      // 60/min = one token a second.
      h.clock.advance(1000);
      expect((await h.req("GET", "/api/v1/tenant/quota", { key: t.apiKey, headers: from(bad) })).status).toBe(200);
      expect((await h.req("GET", "/api/v1/tenant/quota", { key: "sk_live_guess", headers: from(bad) })).status).toBe(
        401,
      );
      expect((await h.req("GET", "/api/v1/tenant/quota", { key: t.apiKey, headers: from(bad) })).status).toBe(429);
    },
  );

  inProcessOnly("relies on in-process requests having no socket address")(
    "without TRUST_PROXY, X-Forwarded-For is ignored (in-process requests have no socket address)",
    async () => {
      const h = await harness({ AUTH_FAILURE_LIMIT_PER_MINUTE: 60, AUTH_FAILURE_BURST: 1 });
      for (let i = 0; i < 5; i++)
        expect(
          (await h.req("GET", "/api/v1/tenant/quota", { key: "sk_live_x", headers: from("10.0.0.1") })).status,
        ).toBe(401);
    },
  );

  test("the store forgets buckets that have refilled (memory stays bounded)", () => {
    const store = new MemoryRateLimitStore();
    const rule = { ratePerSecond: 1, burst: 5 };
    for (let i = 0; i < 500; i++) store.take(`fail:10.0.${i >> 8}.${i & 255}`, rule, 0, 5);
    expect(store.size).toBe(500);
    store.sweep(4_000);
    expect(store.size).toBe(500);
    store.sweep(5_000);
    expect(store.size).toBe(0);
  });
});

describe("concurrent uploads per tenant", () => {
  /** A PUT body the test finishes (or breaks) by hand. */
  function heldBody(bytes: Uint8Array) {
    let ctl!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        ctl = c;
        c.enqueue(bytes.subarray(0, 100));
      },
    });
    return {
      stream,
      finish: () => {
        ctl.enqueue(bytes.subarray(100));
        ctl.close();
      },
      abort: () => ctl.error(new Error("client went away")),
    };
  }

  inProcessOnly("holds PUT bodies open in-process and reads the slot count")(
    "the cap answers 429 while full; a slot is freed on completion and on abort",
    async () => {
      const h = await harness({ MAX_CONCURRENT_UPLOADS_PER_TENANT: 2 });
      const t = await h.createTenant({ name: "rl-slots" });
      const size = 4096;
      const content = sampleContent("image/png", size);
      const request = async () =>
        (
          await h.json("POST", "/api/v1/upload/request", {
            key: t.apiKey,
            body: { fileType: "image/png", fileName: "s.png", fileSizeBytes: size },
          })
        ).body as { fileId: string; presignedUrl: string };
      const put = (url: string, body: ReadableStream<Uint8Array> | Uint8Array) =>
        h.app.handle(
          new Request(`http://localhost${url}`, {
            method: "PUT",
            headers: { "content-length": String(size) },
            body,
          }),
        );
      const [u1, u2, u3] = [await request(), await request(), await request()];
      const b1 = heldBody(content);
      const b2 = heldBody(content);
      const p1 = put(u1.presignedUrl, b1.stream);
      const p2 = put(u2.presignedUrl, b2.stream);
      for (let i = 0; i < 50 && h.services.uploadSlots.count(t.id) < 2; i++) await Bun.sleep(0);
      expect(h.services.uploadSlots.count(t.id)).toBe(2);

      const third = await put(u3.presignedUrl, content);
      expect(third.status).toBe(429);
      expect(((await third.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
      expect(third.headers.get("retry-after")).toBe("1");
      // The storage module's upload counts against the same cap.
      const { multipartBody } = await import("../support/multipart");
      const mp = multipartBody({}, { name: "m.png", type: "image/png", bytes: content });
      const module = await h.req("POST", "/api/v1/storage/upload", {
        key: t.apiKey,
        body: mp.body,
        headers: { "content-type": mp.contentType },
      });
      expect(module.status).toBe(429);

      b1.finish();
      expect((await p1).status).toBe(200);
      b2.abort();
      expect((await p2).status).toBeGreaterThanOrEqual(400);
      expect(h.services.uploadSlots.count(t.id)).toBe(0);
      // Both slots are back: the refused upload now goes through, and the aborted one can retry.
      expect((await put(u3.presignedUrl, content)).status).toBe(200);
      expect((await put(u2.presignedUrl, content)).status).toBe(200);
      expect((await h.rt.repos.files.byId(u3.fileId))?.processingStatus).toBe("completed");
    },
  );
});
