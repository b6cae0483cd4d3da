import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/harness";
import { serveUntilExit, startLiveServer } from "../support/live-server";
import { pngBytes, upload } from "../support/ops-client";
import { productCommand, runCommand } from "../support/spawn-server";

// An instance whose master key is not the one the database was written with must not start
// (docs/operations.md, "State shared by all instances"): it could neither read the files nor
// write ones the other instances can read. On SQLite: a database restored beside the wrong key.

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const newKey = () => randomBytes(32).toString("base64");

/** Runs `serve` expecting a refusal: it must exit without listening. */
async function serveRefused(env: Record<string, string>) {
  const r = await serveUntilExit(env);
  expect(r.listened).toBe(false);
  return r;
}

/** A data dir with one stored file, written under `masterKey` (or a generated master.key). */
async function deploymentWithAFile(env: Record<string, string>) {
  const s = await startLiveServer(env);
  const { apiKey } = await s.createTenant();
  const fileId = await upload(s.url, apiKey, pngBytes(2000, 1));
  await s.stop();
  return { dir: s.dir, apiKey, fileId };
}

describe("master key check at start-up (SQLite)", () => {
  test("a restart with another MASTER_KEY is refused with a message naming MASTER_KEY; the right key starts", async () => {
    const key = newKey();
    const d = await deploymentWithAFile({ MASTER_KEY: key });
    dirs.push(d.dir);
    const refused = await serveRefused({ DATA_DIR: d.dir, MASTER_KEY: newKey() });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("MASTER_KEY does not match this database");
    expect(refused.stderr).toContain("Refusing to start");
    // The log says it too (JSON line on stdout).
    expect(refused.stdout).toContain('"msg":"refusing to start"');

    const s = await startLiveServer({ DATA_DIR: d.dir, MASTER_KEY: key });
    const dl = await fetch(`${s.url}/api/v1/files/${d.fileId}/download`, {
      headers: { authorization: `Bearer ${d.apiKey}` },
    });
    expect(dl.status).toBe(200);
    await s.close();
  });

  test("a data dir whose master.key was replaced (a restore beside the wrong key) is refused, CLI commands too", async () => {
    const d = await deploymentWithAFile({ MASTER_KEY: "" });
    dirs.push(d.dir);
    writeFileSync(join(d.dir, "master.key"), `${newKey()}\n`, { mode: 0o600 });
    const refused = await serveRefused({ DATA_DIR: d.dir, MASTER_KEY: "" });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("MASTER_KEY does not match this database");
    const rotate = await runCommand(productCommand("admin", "rotate-master-key"), {
      DATA_DIR: d.dir,
      MASTER_KEY: "",
    });
    expect(rotate.code).toBe(1);
    expect(rotate.stderr).toContain("MASTER_KEY does not match this database");
  });

  test("a database from before the canary (files only) is checked by the key ids its files record", async () => {
    const key = newKey();
    const d = await deploymentWithAFile({ MASTER_KEY: key });
    dirs.push(d.dir);
    const db = new Database(join(d.dir, "storage-brain.db"));
    db.run("DELETE FROM settings WHERE key = 'master_key_canary'");
    db.close();
    const refused = await serveRefused({ DATA_DIR: d.dir, MASTER_KEY: newKey() });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/stored files are wrapped by master key mk_[0-9a-f]{16}/);
  });

  test("after a master key rotation the canary follows the new key, and the old key alone is refused", async () => {
    const d = await deploymentWithAFile({ MASTER_KEY: "" });
    dirs.push(d.dir);
    const old = (await Bun.file(join(d.dir, "master.key")).text()).trim();
    const rotate = await runCommand(productCommand("admin", "rotate-master-key"), { DATA_DIR: d.dir, MASTER_KEY: "" });
    expect(rotate.code).toBe(0);
    const s = await startLiveServer({ DATA_DIR: d.dir, MASTER_KEY: "" });
    const dl = await fetch(`${s.url}/api/v1/files/${d.fileId}/download`, {
      headers: { authorization: `Bearer ${d.apiKey}` },
    });
    expect(dl.status).toBe(200);
    await s.close();
    // The retired key file holds the old key; an instance given only the old key is refused.
    for (const f of new Bun.Glob("master.key.retired-*").scanSync(d.dir)) rmSync(join(d.dir, f));
    const refused = await serveRefused({ DATA_DIR: d.dir, MASTER_KEY: old });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("MASTER_KEY does not match this database");
  });
});
