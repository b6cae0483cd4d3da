import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { createHarness, type Harness } from "../support/harness";

let h: Harness;
let tenantId: string;
let workspaceId: string;

beforeAll(async () => {
  h = await createHarness();
  const t = await h.createTenant();
  tenantId = t.id;
  const w = await h.json("POST", "/api/v1/workspaces", { key: t.apiKey, body: { name: "W", slug: "w" } });
  workspaceId = w.body.id;
  const insert = async (ws: string | null, context: string | null) => {
    const id = randomUUID();
    await h.rt.repos.files.insert({
      id,
      tenantId,
      workspaceId: ws,
      originalName: "a.png",
      fileType: "image/png",
      sizeBytes: 10,
      context,
      tags: null,
      storageKey: `k/${id}`,
      reservedBytes: 0,
      webhookUrl: null,
      uploadExpiresAt: null,
      createdAt: Date.now(),
    });
  };
  await insert(null, null);
  await insert(null, "docs");
  await insert(workspaceId, null);
  await insert(workspaceId, "docs");
  await insert(workspaceId, "docs");
});
afterAll(() => h.close());

test("total (from the counters) agrees with the listing for every workspace filter, null included", async () => {
  const f = h.rt.repos.files;
  for (const filters of [
    { tenantId },
    { tenantId, workspaceId: null },
    { tenantId, workspaceId },
    { tenantId, workspaceId: null, context: "docs" },
    { tenantId, workspaceId, context: "docs" },
  ]) {
    expect({ filters, total: await f.total(filters) }).toEqual({
      filters,
      total: (await f.page(filters, 100)).length,
    });
  }
  expect(await f.total({ tenantId, workspaceId: null })).toBe(2);
});
