import { afterAll, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { buildBinary } from "../../scripts/build";
import { tempDir } from "../support/harness";
import { api, download, parsePrometheus, pngBytes, sampleValue, upload } from "../support/ops-client";
import { inheritedEnv, spawnServer } from "../support/spawn-server";

const root = tempDir("sb-binops-");
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ADMIN = "sk_admin_binary_ops_0123456789";

test("the compiled binary: /metrics, backup, restore, rotate-master-key, doctor --fix, migrate --dry-run", async () => {
  const bin = join(root, "storage-brain");
  expect(buildBinary(bin).ok).toBe(true);
  const dataA = join(root, "a");
  const run = (args: string[], dataDir = dataA) => {
    const r = Bun.spawnSync([bin, ...args], {
      cwd: root,
      env: {
        ...inheritedEnv(),
        DATA_DIR: dataDir,
        ADMIN_API_KEY: ADMIN,
        URL_SIGNING_SECRET: "binary-ops-signing-0123456789",
      },
    });
    return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
  };
  const s = await spawnServer([bin, "serve"], { cwd: root, env: { DATA_DIR: dataA, ADMIN_API_KEY: ADMIN } });
  const files = new Map<string, Uint8Array>();
  let apiKey = "";
  try {
    apiKey = (await api(s.url, "POST", "/api/v1/admin/tenants", ADMIN, { name: "bin-ops" })).body.apiKey;
    for (let i = 0; i < 5; i++) {
      const bytes = pngBytes(6000 + i * 1000, i);
      files.set(await upload(s.url, apiKey, bytes), bytes);
    }
    const metrics = parsePrometheus((await api(s.url, "GET", "/metrics", ADMIN)).body);
    expect(sampleValue(metrics, "storage_uploads_total", { outcome: "completed" })).toBe(5);
    expect(sampleValue(metrics, "storage_brain_build_info", { backend: "local" })).toBe(1);

    expect(run(["backup", join(root, "bk")]).code).toBe(0);
    const rot = run(["admin", "rotate-master-key"]);
    expect(rot.code).toBe(0);
    expect(rot.out).toContain("Master key rotated");
    for (const [id, bytes] of files) expect(await download(s.url, apiKey, id)).toEqual(bytes);
  } finally {
    await s.stop();
  }
  expect(run(["migrate", "--dry-run"]).out).toContain("database is up to date");
  expect(run(["doctor", "--fix"]).code).toBe(0);
  expect(run(["doctor", "--bogus"]).code).toBe(2);

  // The backup predates the rotation: it needs the retired key, restored as master.key.
  const dataB = join(root, "b");
  const r = run(["restore", join(root, "bk"), "--data-dir", dataB]);
  expect(r.code).toBe(0);
  expect(r.out).toContain("The master key was NOT restored");
  const retired = readdirSync(dataA).find((n) => n.startsWith("master.key.retired-"));
  expect(retired).toBeDefined();
  await Bun.write(join(dataB, "master.key"), Bun.file(join(dataA, String(retired))));
  const s2 = await spawnServer([bin, "serve"], { cwd: root, env: { DATA_DIR: dataB, ADMIN_API_KEY: ADMIN } });
  try {
    for (const [id, bytes] of files) expect(await download(s2.url, apiKey, id)).toEqual(bytes);
  } finally {
    await s2.stop();
  }
  expect(existsSync(join(dataB, "master.key.next"))).toBe(false);
}, 120_000);
