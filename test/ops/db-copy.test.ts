import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { dbCopy } from "../../src/cli/db-copy";
import { openDatabase } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import { apiAnswers } from "../support/api-answers";
import { type AllRows, allRows } from "../support/db-rows";
import { tempDir } from "../support/harness";
import { startLiveServer } from "../support/live-server";
import { api, pngBytes, upload } from "../support/ops-client";
import { createTestPgDatabase, type TestPgDatabase } from "../support/pg";
import { inheritedEnv, productCommand, spawnServer } from "../support/spawn-server";

const ADMIN = "sk_admin_db_copy_test_0123456789";
const root = tempDir("sb-db-copy-");
const dataDir = join(root, "data");
const sqliteUrl = `file:${join(dataDir, "storage-brain.db")}`;
let pg: TestPgDatabase;
let source: AllRows;
/** What buildDeployment made that the API comparison needs: the tenants and the pending upload's URL. */
let made: {
  alpha: { id: string; apiKey: string };
  beta: { id: string; apiKey: string };
  pending: { fileId: string; presignedUrl: string };
};

const cli = async (...args: string[]) => {
  const p = Bun.spawn(productCommand(...args), {
    cwd: root,
    env: { ...inheritedEnv(), DATA_DIR: dataDir, ADMIN_API_KEY: ADMIN },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, stdout, stderr };
};

/** A deployment built through the API of a real server (the binary under test:binary), then stopped. */
async function buildDeployment() {
  const s = await spawnServer(productCommand("serve"), {
    cwd: root,
    env: {
      DATA_DIR: dataDir,
      ADMIN_API_KEY: ADMIN,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true",
      WEBHOOK_BACKOFF_MS: "60000",
    },
  });
  try {
    const ok = (r: { status: number; body: unknown }, what: string) => {
      if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body as any;
    };
    const plan = ok(
      await api(s.url, "POST", "/api/v1/admin/plans", ADMIN, {
        name: "pro",
        quotaBytes: 50_000_000,
        maxFileSizeBytes: 5_000_000,
      }),
      "plan",
    );
    const alpha = ok(await api(s.url, "POST", "/api/v1/admin/tenants", ADMIN, { name: "alpha" }), "tenant");
    const beta = ok(
      await api(s.url, "POST", "/api/v1/admin/tenants", ADMIN, { name: "beta", quotaBytes: 9_000_000 }),
      "tenant",
    );
    ok(
      await api(s.url, "PUT", `/api/v1/admin/tenants/${alpha.id}/plan`, ADMIN, { planId: plan.id }),
      "plan assignment",
    );
    ok(
      await api(s.url, "POST", "/api/v1/workspaces", alpha.apiKey, {
        name: "Team",
        slug: "team",
        metadata: { b: 1, a: [2] },
      }),
      "workspace",
    );
    ok(
      await api(s.url, "POST", "/api/v1/tenant/keys", alpha.apiKey, { userId: "u1", scopes: ["read", "write"] }),
      "user key",
    );
    ok(
      await api(s.url, "POST", "/api/v1/webhooks", alpha.apiKey, {
        url: "http://127.0.0.1:9/hook",
        events: ["file.uploaded"],
      }),
      "webhook",
    );
    for (let i = 0; i < 3; i++) await upload(s.url, alpha.apiKey, pngBytes(5000 + i, i));
    await upload(s.url, beta.apiKey, pngBytes(7000, 9));
    const doomed = await upload(s.url, beta.apiKey, pngBytes(6000, 8));
    ok(await api(s.url, "DELETE", `/api/v1/files/${doomed}`, beta.apiKey), "delete");
    const pending = ok(
      await api(s.url, "POST", "/api/v1/upload/request", alpha.apiKey, {
        fileType: "image/png",
        fileName: "pending.png",
        fileSizeBytes: 12345,
        context: "drafts",
        tags: { z: "1", y: "2" },
      }),
      "pending upload",
    );
    made = { alpha, beta, pending };
    // A tus upload half done: 1.5 MiB of 3 MiB (one stored part on disk, the rest a tail).
    const meta = (v: string) => Buffer.from(v).toString("base64");
    const created = await fetch(`${s.url}/api/v1/uploads/tus`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${alpha.apiKey}`,
        "tus-resumable": "1.0.0",
        "upload-length": String(3 * 1024 * 1024),
        "upload-metadata": `filename ${meta("big.png")},filetype ${meta("image/png")}`,
      },
    });
    expect(created.status).toBe(201);
    const patched = await fetch(`${s.url}/api/v1/uploads/tus/${created.headers.get("storage-brain-file-id")}`, {
      method: "PATCH",
      headers: {
        authorization: `Bearer ${alpha.apiKey}`,
        "tus-resumable": "1.0.0",
        "upload-offset": "0",
        "content-type": "application/offset+octet-stream",
      },
      body: pngBytes(1536 * 1024, 3),
    });
    expect(patched.status).toBe(204);
    expect(
      (await fetch(`${s.url}/api/v1/admin/session`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}` } }))
        .status,
    ).toBe(201);
  } finally {
    await s.stop();
  }
}

beforeAll(async () => {
  pg = await createTestPgDatabase();
  await buildDeployment();
  source = await allRows(sqliteUrl);
}, 120_000);
afterAll(async () => {
  await pg?.drop();
  rmSync(root, { recursive: true, force: true });
});

describe("db copy", () => {
  test("the sample deployment has every kind of row", () => {
    const files = source.files!;
    expect(new Set(files.map((f) => f.processingStatus))).toEqual(new Set(["completed", "pending"]));
    expect(files.some((f) => f.deletedAt !== null)).toBe(true);
    for (const t of [
      "plans",
      "workspaces",
      "userKeys",
      "webhookEndpoints",
      "webhookDeliveries",
      "auditLog",
      "tusUploads",
      "consoleSessions",
      "fileStats",
    ])
      expect({ t, n: source[t]!.length > 0 }).toEqual({ t, n: true });
    expect(source.tusUploadParts!.length).toBeGreaterThan(0);
  });

  test("SQLite → PostgreSQL: every table's rows are equal, verified counts and quota totals", async () => {
    const r = await cli("db", "copy", "--from", sqliteUrl, "--to", pg.url);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain("verified: row counts per table and quota totals equal");
    expect(await allRows(pg.url)).toEqual(source);
  }, 60_000);

  test("a non-empty target is refused and left alone; --force replaces its contents", async () => {
    const again = await cli("db", "copy", "--from", sqliteUrl, "--to", pg.url);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("the target is not empty");
    expect(again.stderr).toContain("--force");
    expect(await allRows(pg.url)).toEqual(source);
    // Make the target differ, then --force puts it back to an exact copy.
    const db = new Bun.SQL(pg.url);
    await db`UPDATE tenants SET used_bytes = used_bytes + 1`;
    await db`INSERT INTO plans (id, name, quota_bytes, max_file_size_bytes, created_at, updated_at) VALUES ('p_extra', 'extra', 1, 1, 1, 1)`;
    await db.close();
    const forced = await cli("db", "copy", "--from", sqliteUrl, "--to", pg.url, "--force");
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain("--force: emptying the target");
    expect(await allRows(pg.url)).toEqual(source);
  }, 60_000);

  test("PostgreSQL → SQLite: the round trip gives back the same rows", async () => {
    const back = `file:${join(root, "back.db")}`;
    const r = await cli("db", "copy", "--from", pg.url, "--to", back);
    expect(r.code).toBe(0);
    expect(await allRows(back)).toEqual(source);
  }, 60_000);

  test("refuses a source at another schema version, naming both", async () => {
    const old = join(root, "old.db");
    copyFileSync(join(dataDir, "storage-brain.db"), old);
    const db = new Database(old);
    db.exec("DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)");
    db.close();
    const r = await cli("db", "copy", "--from", `file:${old}`, "--to", `file:${join(root, "never.db")}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the source .* has schema v\d+, this Storage Brain .* has v\d+/);
    expect(r.stderr).toContain("storage-brain migrate");
    expect(existsSync(join(root, "never.db"))).toBe(false);
  });

  test("a copy that does not verify is rolled back: exit 1 naming the differences, the target as it was", async () => {
    // A real fault in a real target: triggers that drop one audit row and inflate tenants' usage.
    const bad = await createTestPgDatabase();
    try {
      const db = new Bun.SQL(bad.url);
      const migrated = await cli("db", "copy", "--from", sqliteUrl, "--to", bad.url);
      expect(migrated.code).toBe(0);
      const dropped = source.auditLog!.map((r) => r.id as string).sort()[0]!;
      await db.unsafe(`
        CREATE FUNCTION drop_one() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN IF NEW.id = '${dropped}' THEN RETURN NULL; END IF; RETURN NEW; END $$;
        CREATE FUNCTION inflate() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN NEW.used_bytes = NEW.used_bytes + 7; RETURN NEW; END $$;
        CREATE TRIGGER drop_one BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION drop_one();
        CREATE TRIGGER inflate BEFORE INSERT ON tenants FOR EACH ROW EXECUTE FUNCTION inflate();`);
      const r = await cli("db", "copy", "--from", sqliteUrl, "--to", bad.url, "--force");
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("verification failed, nothing was written to the target");
      expect(r.stderr).toContain(
        `auditLog: ${source.auditLog!.length} rows in the source, ${source.auditLog!.length - 1} in the target`,
      );
      expect(r.stderr).toMatch(/tenantsUsedBytes: \d+ in the source, \d+ in the target/);
      // Rolled back: what the first copy wrote is still there, unchanged.
      await db.unsafe("DROP TRIGGER drop_one ON audit_log; DROP TRIGGER inflate ON tenants");
      await db.close();
      expect(await allRows(bad.url)).toEqual(source);
    } finally {
      await bad.drop();
    }
  }, 60_000);

  test("usage errors exit 2 with the usage text", async () => {
    for (const args of [
      ["db"],
      ["db", "move"],
      ["db", "copy", "--from", sqliteUrl],
      ["db", "copy", "--from", sqliteUrl, "--to", pg.url, "--fast"],
      ["db", "copy", "--from", "mysql://x", "--to", pg.url],
    ]) {
      const r = await cli(...args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain("Usage: storage-brain");
    }
  });
});

test("small batches: keyset paging over single and composite keys copies every row, both ways", async () => {
  const target = await createTestPgDatabase();
  const dir = tempDir("sb-db-copy-batches-");
  try {
    const from = join(dir, "many.db");
    const db = openDatabase(from);
    migrate(db.$client);
    db.$client.exec(
      "INSERT INTO tenants (id, name, api_key_hash, key_prefix, webhook_secret, created_at, updated_at) VALUES ('t', 'T', 'h', 'p', 's', 1, 1)",
    );
    const insert = db.$client.prepare(
      `INSERT INTO files (id, tenant_id, original_name, file_type, size_bytes, context, storage_key, created_at, updated_at, tags)
       VALUES (?, 't', 'f.png', ?, ?, ?, ?, 1, 1, ?)`,
    );
    for (let i = 0; i < 53; i++)
      insert.run(
        `f${String(i).padStart(3, "0")}`,
        i % 3 ? "image/png" : "image/gif",
        i,
        `c${i % 4}`,
        `k${i}`,
        JSON.stringify({ n: String(i) }),
      );
    db.$client.exec(
      `INSERT INTO tus_uploads (file_id, tenant_id, upload_length, wrapped_key, key_id, parts_id, segments_per_part, expires_at, created_at, updated_at)
       VALUES ('f001', 't', 100, 'w', 'k', 'p', 1, 1, 1, 1), ('f002', 't', 100, 'w', 'k', 'p', 1, 1, 1, 1)`,
    );
    for (const f of ["f001", "f002"])
      for (let p = 1; p <= 7; p++) db.$client.exec(`INSERT INTO tus_upload_parts VALUES ('${f}', ${p}, 'e${p}')`);
    db.$client.close();
    const lines: string[] = [];
    const report = await dbCopy({
      from: `file:${from}`,
      to: target.url,
      force: false,
      batchSize: 4,
      out: (l) => lines.push(l),
    });
    expect(report.rows.files).toBe(53);
    expect(report.rows.tusUploadParts).toBe(14);
    expect(report.rows.fileStats).toBe(8);
    const expected = await allRows(`file:${from}`);
    expect(await allRows(target.url)).toEqual(expected);
    await dbCopy({ from: target.url, to: `file:${join(dir, "back.db")}`, force: false, batchSize: 3, out: () => {} });
    expect(await allRows(`file:${join(dir, "back.db")}`)).toEqual(expected);
  } finally {
    await target.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

test("after db copy + objects copy, a PostgreSQL instance with the same MASTER_KEY answers the API as the SQLite one did (lists, quota, downloads, the pending upload's PUT)", async () => {
  // The copy in the describe above left pg an exact copy of the SQLite deployment (the tests
  // after it only read it). This test runs last: it completes an upload on the SQLite side.
  const newDir = join(root, "pg-instance");
  const objects = await cli(
    "objects",
    "copy",
    "--from",
    `file:${join(dataDir, "objects")}`,
    "--to",
    `file:${join(newDir, "objects")}`,
  );
  expect({ code: objects.code, stderr: objects.stderr }).toEqual({ code: 0, stderr: "" });
  const same = { ADMIN_API_KEY: ADMIN, WEBHOOK_BACKOFF_MS: "60000" };
  const lite = await startLiveServer({ ...same, DATA_DIR: dataDir });
  const onPg = await startLiveServer({
    ...same,
    DATA_DIR: newDir,
    DATABASE_URL: pg.url,
    MASTER_KEY: readFileSync(join(dataDir, "master.key"), "utf8").trim(),
  });
  try {
    const tenants = { alpha: made.alpha, beta: made.beta };
    const before = await apiAnswers(lite.url, ADMIN, tenants);
    const files = (before["alpha GET /api/v1/files?limit=100"]!.body as { files: unknown[] }).files;
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(Object.keys(before).filter((k) => k.includes(" download ")).length).toBeGreaterThanOrEqual(4);
    expect(await apiAnswers(onPg.url, ADMIN, tenants)).toEqual(before);

    // The upload requested before the move completes on either side, with the same effect.
    for (const s of [lite, onPg]) {
      const put = await fetch(s.url + made.pending.presignedUrl, { method: "PUT", body: pngBytes(12345, 5) });
      expect({ url: s.url, status: put.status }).toEqual({ url: s.url, status: 200 });
      await put.arrayBuffer();
    }
    // Each instance queued its own file.uploaded delivery for it: same event, its own id and times.
    const answersAfter = async (base: string) => {
      const a = await apiAnswers(base, ADMIN, tenants);
      const d = a["alpha GET /api/v1/webhooks/deliveries"]!.body as { deliveries: Record<string, unknown>[] };
      for (const x of d.deliveries)
        if (x.fileId === made.pending.fileId) Object.assign(x, { id: "own", createdAt: "own", nextAttemptAt: "own" });
      return a;
    };
    const after = await answersAfter(lite.url);
    expect(after).not.toEqual(before);
    expect(await answersAfter(onPg.url)).toEqual(after);
  } finally {
    await Promise.all([lite.close(), onPg.close()]);
  }
}, 120_000);
