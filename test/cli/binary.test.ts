import { afterAll, expect, test } from "bun:test";
import { copyFileSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { buildBinary } from "../../scripts/build";
import { CONSOLE_OUT } from "../../scripts/build-console";
import { tempDir } from "../support/harness";
import { spawnServer } from "../support/spawn-server";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test("the compiled binary runs from another directory with no node_modules", async () => {
  const out = tempDir("sb-bin-");
  dirs.push(out);
  // The same flags as `npm run build`: what ships is what is tested.
  expect(buildBinary(join(out, "storage-brain")).ok).toBe(true);
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
    const auth = { authorization: `Bearer ${apiKey}` };
    expect((await fetch(`${s.url}/api/v1/tenant/quota`, { headers: auth })).status).toBe(200);
    // Regression: a minified build once skipped query validation (limit=0 answered 200).
    const bad = await fetch(`${s.url}/api/v1/files?limit=0`, { headers: auth });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("VALIDATION_ERROR");
    expect((await fetch(`${s.url}/docs/json`)).status).toBe(200);
    // The admin console comes from inside the binary (this directory has no dist/ or console/).
    const page = await fetch(`${s.url}/console/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toBe(readFileSync(join(CONSOLE_OUT, "index.html"), "utf8"));
    expect(await (await fetch(`${s.url}/console/app.js`)).text()).toBe(
      readFileSync(join(CONSOLE_OUT, "app.js"), "utf8"),
    );
    // The API reference UI is embedded: served from a directory with no node_modules.
    const ui = await fetch(`${s.url}/docs/assets/swagger-ui-bundle.js`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain("SwaggerUIBundle");
    expect(statSync(join(runDir, "data/storage-brain.db")).isFile()).toBe(true);
  } finally {
    await s.stop();
  }
  const version = Bun.spawnSync([bin, "version"], { cwd: runDir });
  expect(version.stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+$/);
});
