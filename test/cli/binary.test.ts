import { afterAll, expect, test } from "bun:test";
import { copyFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/harness";
import { BUN, spawnServer } from "../support/spawn-server";

const root = join(import.meta.dir, "../..");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test("the compiled binary runs from another directory with no node_modules", async () => {
  const out = tempDir("sb-bin-");
  dirs.push(out);
  const build = Bun.spawnSync(
    [BUN, "build", join(root, "src/main.ts"), "--compile", "--minify", "--outfile", join(out, "storage-brain")],
    { cwd: root },
  );
  expect(build.exitCode).toBe(0);
  const runDir = tempDir("sb-run-");
  dirs.push(runDir);
  const bin = join(runDir, "storage-brain");
  copyFileSync(join(out, "storage-brain"), bin);
  Bun.spawnSync(["chmod", "+x", bin]);
  console.log(`binary size: ${(statSync(bin).size / 1048576).toFixed(1)} MiB`);

  const s = await spawnServer([bin, "serve"], {
    cwd: runDir,
    env: { DATA_DIR: "./data", ADMIN_API_KEY: "sk_admin_binary_test_key" },
  });
  try {
    expect(await (await fetch(`${s.url}/health`)).json()).toEqual({ status: "ok" });
    const created = await fetch(`${s.url}/api/v1/admin/tenants`, {
      method: "POST",
      headers: { authorization: "Bearer sk_admin_binary_test_key", "content-type": "application/json" },
      body: JSON.stringify({ name: "bin" }),
    });
    expect(created.status).toBe(201);
    const { apiKey } = (await created.json()) as { apiKey: string };
    expect(
      (await fetch(`${s.url}/api/v1/tenant/quota`, { headers: { authorization: `Bearer ${apiKey}` } })).status,
    ).toBe(200);
    expect((await fetch(`${s.url}/docs/json`)).status).toBe(200);
    expect(statSync(join(runDir, "data/storage-brain.db")).isFile()).toBe(true);
  } finally {
    await s.stop();
  }
  const version = Bun.spawnSync([bin, "version"], { cwd: runDir });
  expect(version.stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+$/);
});
