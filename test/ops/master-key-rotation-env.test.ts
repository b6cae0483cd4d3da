import { afterAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { startLiveServer } from "../support/live-server";
import { download, pngBytes, upload } from "../support/ops-client";
import { productCommand, runCommand } from "../support/spawn-server";

// Master key rotation through the environment (docs/operations.md, "Master key rotation"): the
// procedure for instances that share no data dir. MASTER_KEY = new, MASTER_KEY_PREVIOUS = old on
// every instance, then `admin rotate-master-key`, then MASTER_KEY alone. No key file is written.

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test("MASTER_KEY_PREVIOUS: old files stay readable, the command re-wraps them onto MASTER_KEY, then the old key can go", async () => {
  const oldKey = randomBytes(32).toString("base64");
  const newKey = randomBytes(32).toString("base64");
  const first = await startLiveServer({ MASTER_KEY: oldKey });
  const dir = first.dir;
  dirs.push(dir);
  const { apiKey } = await first.createTenant();
  const before = pngBytes(3000, 1);
  const oldFile = await upload(first.url, apiKey, before);
  await first.stop();

  const env = { DATA_DIR: dir, MASTER_KEY: newKey, MASTER_KEY_PREVIOUS: oldKey };
  const during = await startLiveServer(env);
  expect(Buffer.from((await download(during.url, apiKey, oldFile)) ?? [])).toEqual(Buffer.from(before));
  const after = pngBytes(4000, 2);
  const newFile = await upload(during.url, apiKey, after);
  const rotated = await runCommand(productCommand("admin", "rotate-master-key"), env);
  expect(rotated.stderr).toBe("");
  expect(rotated.code).toBe(0);
  expect(rotated.stdout).toContain("Remove MASTER_KEY_PREVIOUS from every instance");
  await during.close();
  expect(readdirSync(dir).filter((n) => n.startsWith("master.key"))).toEqual([]);
  expect(existsSync(`${dir}/master.key.next`)).toBe(false);

  const done = await startLiveServer({ DATA_DIR: dir, MASTER_KEY: newKey });
  expect(Buffer.from((await download(done.url, apiKey, oldFile)) ?? [])).toEqual(Buffer.from(before));
  expect(Buffer.from((await download(done.url, apiKey, newFile)) ?? [])).toEqual(Buffer.from(after));
  await done.close();
});

test("MASTER_KEY_PREVIOUS without MASTER_KEY is a configuration error naming it", async () => {
  const r = await runCommand(productCommand("migrate"), {
    DATA_DIR: `/tmp/sb-nonexistent-${process.pid}`,
    MASTER_KEY: "",
    MASTER_KEY_PREVIOUS: randomBytes(32).toString("base64"),
  });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("MASTER_KEY_PREVIOUS");
});
