import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { backup } from "../../src/cli/backup";
import { restore } from "../../src/cli/restore";
import { createHarness, type Harness, sampleContent, sqliteOnly, tempDir } from "../support/harness";

// In-process, so `npm run test:s3` runs it against the S3 backend too.
let h: Harness;
const out = tempDir("sb-bk-");
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
  rmSync(out, { recursive: true, force: true });
});

sqliteOnly("backup copies the SQLite database; PostgreSQL is backed up with pg_dump")(
  "backup copies the objects on local disk, only the database on S3; restore follows the manifest",
  async () => {
    const t = await h.createTenant();
    const content = sampleContent("image/png", 70_000);
    const r = await h.json("POST", "/api/v1/upload/request", {
      key: t.apiKey,
      body: { fileType: "image/png", fileName: "a.png", fileSizeBytes: content.byteLength },
    });
    expect((await h.req("PUT", r.body.presignedUrl, { key: t.apiKey, body: content })).status).toBe(200);
    const lines: string[] = [];
    const manifest = await backup(h.rt, h.services.audit, {
      dir: join(out, "bk"),
      includeMasterKey: false,
      out: (l) => lines.push(l),
    });
    const local = h.rt.objects.backend.name === "local";
    expect(manifest.backend).toBe(h.rt.objects.backend.name);
    expect(manifest.counts).toMatchObject({ tenants: 1, files: 1, objects: local ? 1 : 0, missingObjects: 0 });
    expect(manifest.entries.map((e) => e.path)).toEqual(
      local
        ? ["storage-brain.db", `objects/${(await h.rt.repos.files.byId(r.body.fileId))?.storageKey}`]
        : ["storage-brain.db"],
    );
    if (!local) expect(lines.join("\n")).toContain("versioning or replication");
    await expect(
      backup(h.rt, h.services.audit, { dir: join(out, "bk"), includeMasterKey: false, out: () => {} }),
    ).rejects.toThrow("not empty");

    const restored: string[] = [];
    await restore({
      from: join(out, "bk"),
      dataDir: join(out, "r"),
      force: false,
      includeMasterKey: false,
      out: (l) => restored.push(l),
    });
    expect(existsSync(join(out, "r", "objects"))).toBe(local);
    if (!local) expect(restored.join("\n")).toContain("restore them from the bucket");
    const db = new Database(join(out, "r", "storage-brain.db"), { readonly: true });
    expect(db.query("SELECT id FROM files").all()).toEqual([{ id: r.body.fileId }]);
    db.close();
    expect(JSON.parse(readFileSync(join(out, "bk", "manifest.json"), "utf8")).includesMasterKey).toBe(false);
  },
);
