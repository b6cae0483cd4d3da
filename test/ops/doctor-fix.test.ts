import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { tempDir } from "../support/harness";
import { api, pngBytes, upload } from "../support/ops-client";
import { BUN, inheritedEnv, spawnServer } from "../support/spawn-server";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const ADMIN = "sk_admin_doctor_test_0123456789";
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { DATA_DIR: dir, ADMIN_API_KEY: ADMIN };

const doctor = (args: string[] = []) => {
  const r = Bun.spawnSync([BUN, MAIN, "doctor", ...args], { env: { ...inheritedEnv(), ...env } });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
};
const row = (id: string) => {
  const db = new Database(join(dir, "storage-brain.db"), { readonly: true });
  try {
    return db
      .query("SELECT processing_status AS status, charged_bytes AS charged, metadata FROM files WHERE id = ?")
      .get(id) as {
      status: string;
      charged: number;
      metadata: string | null;
    };
  } finally {
    db.close();
  }
};

test("doctor reports disk, key, backend, outbox and orphans both ways; --fix repairs them and says what it did", async () => {
  const s = await spawnServer([BUN, MAIN, "serve"], { env });
  let t: { id: string; apiKey: string };
  const ids: string[] = [];
  const sizes = [10_000, 20_000, 30_000];
  try {
    t = (await api(s.url, "POST", "/api/v1/admin/tenants", ADMIN, { name: "doctored" })).body;
    for (const [i, n] of sizes.entries()) ids.push(await upload(s.url, t.apiKey, pngBytes(n, i)));
  } finally {
    await s.stop();
  }
  const objects = join(dir, "objects");
  const keyOf = (fileId: string) => `t/${t.id}/${fileId.slice(0, 2)}/${fileId}`;
  // Plant: an old orphan object, a young one, and a completed row whose object is gone.
  const oldOrphan = join(objects, keyOf("0ld00000-0000-4000-8000-000000000000"));
  const youngOrphan = join(objects, keyOf("5ee00000-0000-4000-8000-000000000000"));
  for (const p of [oldOrphan, youngOrphan]) {
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, "ciphertext nobody owns");
  }
  const twoHoursAgo = (Date.now() - 2 * 3600_000) / 1000;
  utimesSync(oldOrphan, twoHoursAgo, twoHoursAgo);
  rmSync(join(objects, keyOf(ids[1]!)));

  const check = doctor();
  expect(check.code).toBe(1);
  for (const name of ["disk space", "master key", "backend reachable", "webhook outbox"])
    expect(check.out).toContain(`ok   ${name}:`);
  expect(check.out).toContain("FAIL orphan objects: 2 without a live row, 1 younger than an hour");
  expect(check.out).toContain("FAIL files without object: 1 completed file(s) whose object is gone — run doctor --fix");
  expect(existsSync(oldOrphan)).toBe(true); // reporting changes nothing
  expect(row(ids[1]!).status).toBe("completed");

  const fixed = doctor(["--fix"]);
  expect(fixed.code).toBe(0);
  expect(fixed.out).toContain(`fixed: deleted orphan object ${keyOf("0ld00000-0000-4000-8000-000000000000")}`);
  expect(fixed.out).toContain(`fixed: file ${ids[1]} marked failed (object missing), ${sizes[1]} bytes released`);
  expect(existsSync(oldOrphan)).toBe(false);
  expect(existsSync(youngOrphan)).toBe(true);
  expect(row(ids[1]!)).toMatchObject({ status: "failed", charged: 0 });
  expect(JSON.parse(row(ids[1]!).metadata ?? "{}").failureReason).toBe("object_missing");
  for (const i of [0, 2]) expect(row(ids[i]!).status).toBe("completed");

  const s2 = await spawnServer([BUN, MAIN, "serve"], { env });
  try {
    const q = (await api(s2.url, "GET", `/api/v1/admin/tenants/${t.id}/quota`, ADMIN)).body;
    expect(q.usedBytes).toBe(sizes[0]! + sizes[2]!);
    const audit = (await api(s2.url, "GET", "/api/v1/admin/audit?action=doctor.fix", ADMIN)).body.entries;
    expect(audit[0].details).toEqual({ orphanObjectsDeleted: 1, filesMarkedFailed: 1 });
  } finally {
    await s2.stop();
  }
  const after = doctor();
  expect(after.code).toBe(0);
  expect(after.out).toContain("ok   orphan objects: 1 without a live row, 1 younger than an hour (left alone)");
  expect(after.out).toContain("ok   files without object: 0 completed file(s)");
}, 60_000);
