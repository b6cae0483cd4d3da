import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHarness, type Harness } from "../support/harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

test("files/contexts with another tenant's workspace → 404, like /files (own workspace → 200)", async () => {
  const a = await h.createTenant({ name: "ctx-a" });
  const b = await h.createTenant({ name: "ctx-b" });
  const ws = await h.json("POST", "/api/v1/workspaces", { key: a.apiKey, body: { name: "A", slug: "a" } });
  expect(ws.status).toBe(201);
  const id = ws.body.id as string;

  const foreignList = await h.json("GET", `/api/v1/files?workspaceId=${id}`, { key: b.apiKey });
  const foreignContexts = await h.json("GET", `/api/v1/files/contexts?workspaceId=${id}`, { key: b.apiKey });
  expect(foreignList.status).toBe(404);
  expect(foreignContexts.status).toBe(404);
  expect(foreignContexts.body.error.code).toBe(foreignList.body.error.code);
  expect(foreignContexts.body.contexts).toBeUndefined();

  const own = await h.json("GET", `/api/v1/files/contexts?workspaceId=${id}`, { key: a.apiKey });
  expect(own.status).toBe(200);
  expect(own.body.contexts).toEqual([]);
  // A deleted workspace is gone for both listings too.
  expect((await h.req("DELETE", `/api/v1/workspaces/${id}`, { key: a.apiKey })).status).toBe(200);
  expect((await h.req("GET", `/api/v1/files/contexts?workspaceId=${id}`, { key: a.apiKey })).status).toBe(404);
});
