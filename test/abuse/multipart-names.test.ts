import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHarness, type Harness, sampleContent } from "../support/harness";
import { multipartBody } from "../support/multipart";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

test("storage-module multipart file names are UTF-8: 'résumé 日本.pdf' round-trips through upload, list and Content-Disposition", async () => {
  const name = "résumé 日本.pdf";
  const { apiKey } = await h.createTenant({ name: "utf8-names" });
  const bytes = sampleContent("application/pdf", 4096);
  const { body, contentType } = multipartBody({}, { name, type: "application/pdf", bytes });
  const up = await h.json("POST", "/api/v1/storage/upload", {
    key: apiKey,
    body,
    headers: { "content-type": contentType },
  });
  expect(up.status).toBe(200);
  expect(up.body.originalName).toBe(name);

  const listed = await h.json("GET", "/api/v1/storage/files", { key: apiKey });
  expect(listed.body.files.map((f: { originalName: string }) => f.originalName)).toContain(name);
  const main = await h.json("GET", `/api/v1/files/${up.body.fileId}`, { key: apiKey });
  expect(main.body.originalName).toBe(name);

  const dl = await h.req("GET", `/api/v1/files/${up.body.fileId}/download`, { key: apiKey });
  expect(dl.status).toBe(200);
  const cd = dl.headers.get("content-disposition") ?? "";
  const star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
  expect(star).not.toBeNull();
  expect(decodeURIComponent(star?.[1] ?? "")).toBe(name);
  expect(new Uint8Array(await dl.arrayBuffer())).toEqual(bytes);
});
