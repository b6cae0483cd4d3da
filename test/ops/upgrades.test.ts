import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { LATEST_SCHEMA_VERSION } from "../../src/db/migrate";
import { VERSION } from "../../src/version";
import { tempDir } from "../support/harness";
import { BUN, inheritedEnv } from "../support/spawn-server";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const MIGRATIONS = join(import.meta.dir, "../../migrations");
const root = tempDir();
afterAll(() => rmSync(root, { recursive: true, force: true }));

const run = (dir: string, args: string[]) => {
  const r = Bun.spawnSync([BUN, MAIN, ...args], {
    env: { ...inheritedEnv(), DATA_DIR: dir, ADMIN_API_KEY: "sk_admin_upgrade_test_0123456789", PORT: "0" },
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
};

test("migrate --dry-run lists pending migrations and changes nothing; migrate then applies them", () => {
  const fresh = join(root, "fresh");
  const none = run(fresh, ["migrate", "--dry-run"]);
  expect(none.code).toBe(0);
  expect(none.out).toContain("would apply: 0001_init, 0002_webhooks");
  expect(existsSync(join(fresh, "storage-brain.db"))).toBe(false);

  // A database left at schema v4 by an older release.
  const old = join(root, "old");
  mkdirSync(old);
  const db = new Database(join(old, "storage-brain.db"), { create: true });
  db.exec(
    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
  );
  for (const [v, name] of [
    [1, "0001_init"],
    [2, "0002_webhooks"],
    [3, "0003_storage_module"],
    [4, "0004_job_indexes"],
  ] as const) {
    db.exec(readFileSync(join(MIGRATIONS, `${name}.sql`), "utf8"));
    db.query("INSERT INTO schema_migrations VALUES (?, ?, ?)").run(v, name, Date.now());
  }
  db.close();
  const dry = run(old, ["migrate", "--dry-run"]);
  expect(dry.code).toBe(0);
  expect(dry.out).toMatch(/^pending: 0006_operations, .+/);
  expect(dry.out).not.toContain("0004_job_indexes");
  const count = () => {
    const d = new Database(join(old, "storage-brain.db"), { readonly: true });
    const n = (d.query("SELECT count(*) AS n FROM schema_migrations").get() as { n: number }).n;
    d.close();
    return n;
  };
  expect(count()).toBe(4);
  const applied = run(old, ["migrate"]);
  expect(applied.code).toBe(0);
  expect(applied.out).toContain("applied: 0006_operations");
  expect(run(old, ["migrate", "--dry-run"]).out).toContain("database is up to date");
});

test("the binary refuses a database migrated by a newer version, naming both versions", () => {
  const dir = join(root, "newer");
  expect(run(dir, ["migrate"]).code).toBe(0);
  const db = new Database(join(dir, "storage-brain.db"));
  db.query("INSERT INTO schema_migrations VALUES (999, '0999_from_the_future', 0)").run();
  db.query("INSERT OR REPLACE INTO settings VALUES ('schema_written_by', '9.9.9')").run();
  db.close();
  for (const args of [["serve"], ["migrate"], ["migrate", "--dry-run"]]) {
    const r = run(dir, args);
    expect(r.code).toBe(1);
    expect(r.err).toContain("migrated by a newer Storage Brain (9.9.9)");
    expect(r.err).toContain("schema v999 (0999_from_the_future)");
    expect(r.err).toContain(`this is Storage Brain ${VERSION}, which knows schema up to v${LATEST_SCHEMA_VERSION}`);
  }
});
