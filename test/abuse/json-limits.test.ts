import { afterAll, beforeAll, expect, test } from "bun:test";
import { ADMIN_KEY, createHarness, type Harness } from "../support/harness";

/** Free-form JSON (workspace metadata, tags) is bounded at input: depth 10, 100 keys, 16 KiB. */
let h: Harness;
let tenant: { id: string; apiKey: string };
beforeAll(async () => {
  h = await createHarness();
  tenant = await h.createTenant({ name: "json-limits" });
});
afterAll(() => h.close());

/** `{"a":{"a":...{"a":1}}}` with `levels` objects, as raw JSON text (JSON.stringify would recurse). */
const nested = (levels: number) => `${'{"a":'.repeat(levels - 1)}{"a":1}${"}".repeat(levels - 1)}`;
const withMetadata = (slug: string, metadataJson: string) => `{"name":"W","slug":"${slug}","metadata":${metadataJson}}`;

async function post(path: string, key: string, raw: string, method = "POST") {
  const res = await h.req(method, path, { key, body: raw, headers: { "content-type": "application/json" } });
  return { status: res.status, body: (await res.json()) as { error?: { code: string }; id?: string } };
}

test("metadata nested 10,000 and 40,000 levels → 400, and the workspace list still answers 200", async () => {
  for (const levels of [10_000, 40_000]) {
    const r = await post("/api/v1/workspaces", tenant.apiKey, withMetadata(`deep-${levels}`, nested(levels)));
    expect(`${levels}: ${r.status} ${r.body.error?.code}`).toBe(`${levels}: 400 VALIDATION_ERROR`);
    const admin = await post(
      `/api/v1/admin/tenants/${tenant.id}/workspaces`,
      ADMIN_KEY,
      withMetadata(`deep-admin-${levels}`, nested(levels)),
    );
    expect(admin.status).toBe(400);
  }
  const list = await h.json("GET", "/api/v1/workspaces", { key: tenant.apiKey });
  expect(list.status).toBe(200);
  expect(list.body.workspaces.map((w: { slug: string }) => w.slug)).not.toContain("deep-10000");
});

test("the limits at their edges: depth 10 / 100 keys / 16 KiB pass, one more fails (create and patch)", async () => {
  const ok = await post("/api/v1/workspaces", tenant.apiKey, withMetadata("edge", nested(10)));
  expect(ok.status).toBe(201);
  const id = ok.body.id as string;
  expect((await h.json("GET", `/api/v1/workspaces/${id}`, { key: tenant.apiKey })).body.metadata).toEqual(
    JSON.parse(nested(10)),
  );

  const patch = (json: string) => post(`/api/v1/workspaces/${id}`, tenant.apiKey, `{"metadata":${json}}`, "PATCH");
  expect((await patch(nested(11))).status).toBe(400);

  const keys = (n: number) =>
    JSON.stringify({ g: Object.fromEntries(Array.from({ length: n - 1 }, (_, i) => [`k${i}`, i])) });
  expect((await patch(keys(100))).status).toBe(200);
  const tooMany = await patch(keys(101));
  expect(tooMany.status).toBe(400);
  expect(tooMany.body.error?.code).toBe("VALIDATION_ERROR");

  const sized = (bytes: number) => JSON.stringify({ s: "x".repeat(bytes - 8) });
  expect(Buffer.byteLength(sized(16 * 1024))).toBe(16 * 1024);
  expect((await patch(sized(16 * 1024))).status).toBe(200);
  expect((await patch(sized(16 * 1024 + 1))).status).toBe(400);

  // What was refused changed nothing: the last accepted value is what is stored.
  const stored = await h.json("GET", `/api/v1/workspaces/${id}`, { key: tenant.apiKey });
  expect(stored.body.metadata).toEqual(JSON.parse(sized(16 * 1024)));
});

test("any JSON body nested deeper than 32 levels is refused before parsing (400), wherever it hides", async () => {
  const deepArray = `${"[".repeat(33)}${"]".repeat(33)}`;
  const r = await post(
    "/api/v1/upload/request",
    tenant.apiKey,
    `{"fileType":"image/png","fileName":"a.png","fileSizeBytes":1,"pad":${deepArray}}`,
  );
  expect(r.status).toBe(400);
  // Brackets inside strings are not nesting.
  const inString = await post(
    "/api/v1/workspaces",
    tenant.apiKey,
    JSON.stringify({ name: "[".repeat(40), slug: "brackets", metadata: { s: '{[\\"'.repeat(50) } }),
  );
  expect(inString.status).toBe(201);
});
