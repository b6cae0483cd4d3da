import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHarness, type Harness, sampleContent } from "../support/harness";
import { multipartBody } from "../support/multipart";

// One file-name rule (src/domain/files/file-name.ts, docs/api.md "File names") at every place a
// name enters: the upload request, the rename, and the storage module's multipart upload.

const refused: [string, string][] = [
  ["RLO faking an extension", "invoice\u202Efdp.exe"],
  ["LRE", "a\u202Ab.png"],
  ["PDF (pop directional)", "a\u202Cb.png"],
  ["LRI isolate", "a\u2066b.png"],
  ["PDI isolate", "a\u2069b.png"],
  ["LRM mark", "a\u200Eb.png"],
  ["RLM mark", "a\u200Fb.png"],
  ["Arabic letter mark", "a\u061Cb.png"],
  ["NUL", "a\u0000b.png"],
  ["newline (header splitting)", "a\r\nb.png"],
  ["unit separator", "a\u001Fb.png"],
  ["DEL", "a\u007Fb.png"],
  ["C1 NEL", "a\u0085b.png"],
  ["C1 CSI", "a\u009Bb.png"],
  ["parent path", "../etc/passwd"],
  ["slash", "a/b.png"],
  ["backslash", "a\\b.png"],
  ["Windows path", "C:\\fakepath\\a.png"],
  ["angle brackets", "a<b>.png"],
  ["colon", "a:b.png"],
  ["double quote", 'a"b.png'],
  ["pipe", "a|b.png"],
  ["question mark", "a?b.png"],
  ["asterisk", "a*b.png"],
  ["leading space", " a.png"],
  ["trailing space", "a.png "],
  ["dot", "."],
  ["dot dot", ".."],
  ["256 characters", `${"a".repeat(252)}.png`],
];

/** [why, as sent, as stored (NFC)] */
const accepted: [string, string, string][] = [
  ["accents", "résumé.png", "résumé.png"],
  ["CJK", "日本語のファイル.png", "日本語のファイル.png"],
  ["emoji", "📷 holiday 🏖️.png", "📷 holiday 🏖️.png"],
  ["Greek and Cyrillic", "Ωmega Привет.png", "Ωmega Привет.png"],
  ["decomposed é becomes NFC", "e\u0301t\u0301e\u0301.png", "\u00e9t\u0301\u00e9.png"],
  ["255 characters", `${"a".repeat(251)}.png`, `${"a".repeat(251)}.png`],
  ["inner spaces, dots, dashes", "my report - v1.2 (final).png", "my report - v1.2 (final).png"],
];

let h: Harness;
let tenant: { id: string; apiKey: string };
const liveFiles = () => h.rt.repos.files.total({ tenantId: tenant.id });

beforeAll(async () => {
  h = await createHarness();
  tenant = await h.createTenant({ quotaBytes: 50 * 1024 * 1024 });
});
afterAll(() => h.close());

const requestUpload = (fileName: string) =>
  h.json("POST", "/api/v1/upload/request", {
    key: tenant.apiKey,
    body: { fileName, fileType: "image/png", fileSizeBytes: 16 },
  });

const storageUpload = (name: string) => {
  const { body, contentType } = multipartBody(
    {},
    { name, type: "image/png", bytes: sampleContent("image/png", 64), extended: true },
  );
  return h.json("POST", "/api/v1/storage/upload", {
    key: tenant.apiKey,
    body,
    headers: { "content-type": contentType },
  });
};

describe("POST /api/v1/upload/request", () => {
  test.each(refused)("refuses %s", async (_why, name) => {
    const before = liveFiles();
    const r = await requestUpload(name);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("VALIDATION_ERROR");
    expect(liveFiles()).toBe(before);
  });
  test.each(accepted)("accepts %s", async (_why, name, stored) => {
    const r = await requestUpload(name);
    expect(r.status).toBe(200);
    const f = await h.json("GET", `/api/v1/files/${r.body.fileId}`, { key: tenant.apiKey });
    expect(f.body.originalName).toBe(stored);
  });
});

describe("PATCH /api/v1/files/:id", () => {
  let fileId: string;
  beforeAll(async () => {
    fileId = (await requestUpload("original.png")).body.fileId;
  });
  test.each(refused)("refuses %s", async (_why, name) => {
    const r = await h.json("PATCH", `/api/v1/files/${fileId}`, { key: tenant.apiKey, body: { originalName: name } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("VALIDATION_ERROR");
    expect(h.rt.repos.files.byId(fileId)?.originalName).toBe("original.png");
  });
  test.each(accepted)("accepts %s", async (_why, name, stored) => {
    const r = await h.json("PATCH", `/api/v1/files/${fileId}`, { key: tenant.apiKey, body: { originalName: name } });
    expect(r.status).toBe(200);
    expect(r.body.originalName).toBe(stored);
    expect(h.rt.repos.files.byId(fileId)?.originalName).toBe(stored);
    await h.json("PATCH", `/api/v1/files/${fileId}`, { key: tenant.apiKey, body: { originalName: "original.png" } });
  });
});

describe("POST /api/v1/storage/upload", () => {
  test.each(refused)("refuses %s", async (_why, name) => {
    const before = liveFiles();
    const r = await storageUpload(name);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("VALIDATION_ERROR");
    expect(liveFiles()).toBe(before);
  });
  test.each(accepted)("accepts %s", async (_why, name, stored) => {
    const r = await storageUpload(name);
    expect(r.status).toBe(200);
    expect(r.body.originalName).toBe(stored);
  });
});

test("a plain UTF-8 filename (as browsers send it) keeps its characters", async () => {
  const { body, contentType } = multipartBody(
    {},
    { name: "日本 📷.png", type: "image/png", bytes: sampleContent("image/png", 64) },
  );
  const r = await h.json("POST", "/api/v1/storage/upload", {
    key: tenant.apiKey,
    body,
    headers: { "content-type": contentType },
  });
  expect(r.status).toBe(200);
  expect(r.body.originalName).toBe("日本 📷.png");
});
