import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { createHarness, type Harness, sampleContent } from "../support/harness";
import { multipartBody } from "../support/multipart";

// One file-name rule (src/domain/files/file-name.ts, docs/api.md "File names") at every place a
// name enters: the upload request, the rename, the storage module's multipart upload and tus.

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
let renamed: string;
const liveFiles = async () => await h.rt.repos.files.total({ tenantId: tenant.id });
/** The name of the tenant's most recently inserted file (insertion order, whatever the clock). */
const newestName = async () => {
  // SQLite's rowid grows with each insert; PostgreSQL's xmin is the transaction that last wrote the row.
  const order = h.rt.conn.dialect === "pg" ? sql`xmin::text::bigint` : sql`rowid`;
  const [row] = await h.rt.conn.rows<{ name: string }>(
    sql`SELECT original_name AS name FROM files WHERE tenant_id = ${tenant.id} ORDER BY ${order} DESC LIMIT 1`,
  );
  return row?.name;
};

beforeAll(async () => {
  h = await createHarness();
  tenant = await h.createTenant({ quotaBytes: 50 * 1024 * 1024 });
  const r = await h.json("POST", "/api/v1/upload/request", {
    key: tenant.apiKey,
    body: { fileName: "original.png", fileType: "image/png", fileSizeBytes: 16 },
  });
  renamed = r.body.fileId;
});
afterAll(() => h.close());

interface EntryPoint {
  name: string;
  /** Sends `fileName` the way a client would; returns the status and, if refused, the error code. */
  send(fileName: string): Promise<{ status: number; code?: string }>;
  /** Accepted: the status that means so, and the name as now stored. */
  ok: number;
  stored(): Promise<string | undefined> | string | undefined;
  /** Refused: what must not have changed (no file created, or the old name kept). */
  snapshot(): Promise<unknown> | unknown;
  reset?(): Promise<void>;
}

const answer = async (res: Response) => {
  const text = await res.text();
  const body = text ? JSON.parse(text) : null;
  return { status: res.status, code: body?.error?.code as string | undefined };
};

const entryPoints: EntryPoint[] = [
  {
    name: "POST /api/v1/upload/request",
    send: async (fileName) =>
      answer(
        await h.req("POST", "/api/v1/upload/request", {
          key: tenant.apiKey,
          body: { fileName, fileType: "image/png", fileSizeBytes: 16 },
        }),
      ),
    ok: 200,
    stored: newestName,
    snapshot: liveFiles,
  },
  {
    name: "PATCH /api/v1/files/:id",
    send: async (originalName) =>
      answer(await h.req("PATCH", `/api/v1/files/${renamed}`, { key: tenant.apiKey, body: { originalName } })),
    ok: 200,
    stored: async () => (await h.rt.repos.files.byId(renamed))?.originalName,
    snapshot: async () => (await h.rt.repos.files.byId(renamed))?.originalName,
    reset: async () => {
      await h.req("PATCH", `/api/v1/files/${renamed}`, { key: tenant.apiKey, body: { originalName: "original.png" } });
    },
  },
  {
    name: "POST /api/v1/storage/upload (multipart, filename*)",
    send: async (name) => {
      const part = { name, type: "image/png", bytes: sampleContent("image/png", 64), extended: true };
      const { body, contentType } = multipartBody({}, part);
      return answer(
        await h.req("POST", "/api/v1/storage/upload", {
          key: tenant.apiKey,
          body,
          headers: { "content-type": contentType },
        }),
      );
    },
    ok: 200,
    stored: newestName,
    snapshot: liveFiles,
  },
  {
    name: "POST /api/v1/uploads/tus (Upload-Metadata filename)",
    send: async (name) => {
      const b64 = (v: string) => Buffer.from(v).toString("base64");
      return answer(
        await h.req("POST", "/api/v1/uploads/tus", {
          key: tenant.apiKey,
          headers: {
            "tus-resumable": "1.0.0",
            "upload-length": "16",
            "upload-metadata": `filename ${b64(name)},filetype ${b64("image/png")}`,
          },
        }),
      );
    },
    ok: 201,
    stored: newestName,
    snapshot: liveFiles,
  },
];

for (const ep of entryPoints) {
  describe(ep.name, () => {
    test.each(refused)("refuses %s", async (_why, name) => {
      const before = await ep.snapshot();
      const r = await ep.send(name);
      expect(r).toEqual({ status: 400, code: "VALIDATION_ERROR" });
      expect(await ep.snapshot()).toEqual(before);
    });
    test.each(accepted)("accepts %s", async (_why, name, stored) => {
      const r = await ep.send(name);
      expect(r.status).toBe(ep.ok);
      expect(await ep.stored()).toBe(stored);
      await ep.reset?.();
    });
  });
}

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
