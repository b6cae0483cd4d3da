import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ADMIN_KEY, createHarness, type Harness, TEST_TARGET } from "../support/harness";

/**
 * Bodies are read only after the key is accepted, and capped by the bytes actually read
 * (256 KiB), whatever the Content-Length says, for every content type and every route that
 * takes a body. The cases are generated from the live route table, so a new route is covered.
 */
const CAP = 256 * 1024;
const CHUNK = 64 * 1024;
// Streaming routes read their body themselves, after their own auth (tested in their suites);
// tus DELETE never reads one (test/http/tus.test.ts).
const STREAMING = new Set([
  "PUT /_internal/upload/tenants/:tenantId/files/:fileId/*",
  "POST /api/v1/storage/upload",
  "POST /api/v1/uploads/tus/",
  "PATCH /api/v1/uploads/tus/:fileId",
  "DELETE /api/v1/uploads/tus/:fileId",
]);

let h: Harness;
let tenantKey: string;
beforeAll(async () => {
  h = await createHarness();
  tenantKey = (await h.createTenant({ name: "body-limits" })).apiKey;
});
afterAll(() => h.close());
// Over real HTTP the client and the kernel buffer ahead of the server: how much the server read is
// measured by memory instead (memory-attack.test.ts); in-process the pulled bytes are exact.
const IN_PROCESS = TEST_TARGET === "in-process";

function bodyRoutes() {
  const seen = new Set<string>();
  const out: { method: string; path: string }[] = [];
  for (const r of h.app.routes) {
    const id = `${r.method} ${r.path}`;
    if (!["POST", "PUT", "PATCH", "DELETE"].includes(r.method) || STREAMING.has(id) || seen.has(id)) continue;
    seen.add(id);
    out.push({ method: r.method, path: r.path });
  }
  return out;
}

const concrete = (path: string) => path.replace(/:[A-Za-z]+/g, crypto.randomUUID()).replace(/\*$/, "x");
const keyFor = (path: string) => (path.startsWith("/api/v1/admin") ? ADMIN_KEY : tenantKey);

/** A body of `size` bytes of `prefix` + padding, handed out in 64 KiB chunks; counts what was pulled. */
function counted(size: number, prefix = "") {
  const stats = { pulled: 0 };
  const head = new TextEncoder().encode(prefix);
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (stats.pulled >= size) return c.close();
      const n = Math.min(CHUNK, size - stats.pulled);
      const chunk = new Uint8Array(n).fill(0x20);
      if (stats.pulled === 0) chunk.set(head.subarray(0, n));
      stats.pulled += n;
      c.enqueue(chunk);
    },
  });
  return { stream, stats };
}

async function send(
  method: string,
  path: string,
  key: string | null,
  body: RequestInit["body"],
  headers: Record<string, string>,
) {
  const res = await h.req(method, path, { key, headers, body: body as unknown });
  return {
    status: res.status,
    body: (await res.json().catch(() => null)) as { error?: { code: string }; metadata?: unknown } | null,
  };
}

describe("body limits, generated from the route table", () => {
  test("the route table has the body routes we expect (guards the generator itself)", () => {
    const ids = bodyRoutes().map((r) => `${r.method} ${r.path}`);
    expect(ids).toContain("POST /api/v1/upload/request");
    expect(ids).toContain("POST /api/v1/workspaces/");
    expect(ids).toContain("POST /api/v1/webhooks/");
    expect(ids).toContain("POST /api/v1/admin/tenants");
    expect(ids).toContain("PATCH /api/v1/files/:fileId");
    expect(ids.length).toBeGreaterThan(15);
  });

  test("8 MiB chunked JSON with a valid key → 413, and no more than the cap is read", async () => {
    for (const r of bodyRoutes()) {
      const { stream, stats } = counted(8 * 1024 * 1024, '{"pad":"');
      const res = await send(r.method, concrete(r.path), keyFor(r.path), stream, {
        "content-type": "application/json",
      });
      expect(`${r.method} ${r.path} ${res.status} ${res.body?.error?.code}`).toBe(
        `${r.method} ${r.path} 413 PAYLOAD_TOO_LARGE`,
      );
      if (IN_PROCESS) expect(stats.pulled).toBeLessThanOrEqual(CAP + 2 * CHUNK);
    }
  });

  test("cap + 1 byte → 413 for JSON, text and octet-stream, chunked or with Content-Length; the cap itself passes", async () => {
    for (const r of bodyRoutes()) {
      const path = concrete(r.path);
      const key = keyFor(r.path);
      for (const type of ["application/json", "text/plain", "application/octet-stream"]) {
        const over = await send(r.method, path, key, counted(CAP + 1, '{"pad":"').stream, { "content-type": type });
        expect(`${r.method} ${r.path} ${type} chunked: ${over.status}`).toBe(
          `${r.method} ${r.path} ${type} chunked: 413`,
        );
        const declared = await send(r.method, path, key, counted(CAP + 1).stream, {
          "content-type": type,
          "content-length": String(CAP + 1),
        });
        expect(`${r.method} ${r.path} ${type} declared: ${declared.status}`).toBe(
          `${r.method} ${r.path} ${type} declared: 413`,
        );
      }
      const json = `{"pad":"${"y".repeat(CAP - 10)}"}`;
      expect(json.length).toBe(CAP);
      const atCap = await send(r.method, path, key, json, { "content-type": "application/json" });
      expect(`${r.method} ${r.path} at cap: ${atCap.status}`).not.toBe(`${r.method} ${r.path} at cap: 413`);
    }
  });

  test("no key or a wrong key: 401 before any body byte is read, malformed JSON included", async () => {
    for (const r of bodyRoutes()) {
      for (const key of [null, "sk_live_wrong", "sk_user_wrong"]) {
        const { stream, stats } = counted(8 * 1024 * 1024, '{"name":');
        const res = await send(r.method, concrete(r.path), key, stream, { "content-type": "application/json" });
        expect(`${r.method} ${r.path} key=${key}: ${res.status} ${res.body?.error?.code}`).toBe(
          `${r.method} ${r.path} key=${key}: 401 UNAUTHORIZED`,
        );
        if (IN_PROCESS) expect(stats.pulled).toBeLessThanOrEqual(CHUNK);
      }
      const malformed = await send(r.method, concrete(r.path), null, '{"name":', {
        "content-type": "application/json",
      });
      expect(`${r.method} ${r.path}: ${malformed.status}`).toBe(`${r.method} ${r.path}: 401`);
    }
  });

  test("the streaming storage upload checks the key before its body too", async () => {
    const { stream, stats } = counted(8 * 1024 * 1024, "--x\r\n");
    const res = await send("POST", "/api/v1/storage/upload?bucket=%00", null, stream, {
      "content-type": "multipart/form-data; boundary=x",
      "content-length": String(8 * 1024 * 1024),
    });
    expect(res.status).toBe(401);
    if (IN_PROCESS) expect(stats.pulled).toBeLessThanOrEqual(CHUNK);
  });

  test("a valid body under the cap still works (JSON parsed, effect visible)", async () => {
    const created = await h.json("POST", "/api/v1/workspaces", {
      key: tenantKey,
      body: { name: "Limits", slug: "limits", metadata: { a: 1 } },
    });
    expect(created.status).toBe(201);
    expect(created.body.metadata).toEqual({ a: 1 });
    const malformed = await send("POST", "/api/v1/workspaces", tenantKey, '{"name":', {
      "content-type": "application/json",
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body?.error?.code).toBe("VALIDATION_ERROR");
  });
});
