import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/harness";
import { inheritedEnv, productCommand, spawnServer } from "../support/spawn-server";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string>) {
  const r = Bun.spawnSync(productCommand(...args), { env: { ...inheritedEnv(), ...env } });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("first-run bootstrap", () => {
  test("first start creates the data dir, master key and prints an admin key once; the second start prints none", async () => {
    const dir = join(tempDir(), "data");
    dirs.push(dir);
    const env = { DATA_DIR: dir, ADMIN_API_KEY: "", MASTER_KEY: "" };
    const first = await spawnServer(productCommand("serve"), { env });
    const key = /ADMIN_API_KEY=(sk_admin_[A-Za-z0-9_-]+)/.exec(first.output())?.[1];
    expect(key).toBeDefined();
    expect(statSync(join(dir, "master.key")).mode & 0o777).toBe(0o600);
    expect(existsSync(join(dir, "storage-brain.db"))).toBe(true);
    const created = await fetch(`${first.url}/api/v1/admin/tenants`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "boot" }),
    });
    expect(created.status).toBe(201);
    expect(await first.stop()).toBe(0);
    // the key is not in any log line, and not in the database
    expect(
      first
        .output()
        .split("\n")
        .filter((l) => l.includes(key!)),
    ).toHaveLength(1);
    const db = await Bun.file(join(dir, "storage-brain.db")).arrayBuffer();
    expect(Buffer.from(db).includes(Buffer.from(key!))).toBe(false);

    const second = await spawnServer(productCommand("serve"), { env });
    expect(second.output()).not.toContain("ADMIN_API_KEY=");
    const again = await fetch(`${second.url}/api/v1/admin/tenants`, { headers: { authorization: `Bearer ${key}` } });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { total: number }).total).toBe(1);
    await second.stop();
  });

  test("running migrate or doctor first does not swallow the admin key banner", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const env = { DATA_DIR: dir, ADMIN_API_KEY: "", MASTER_KEY: "" };
    expect(run(["migrate"], env).code).toBe(0);
    expect(run(["doctor"], env).code).toBe(0);
    const s = await spawnServer(productCommand("serve"), { env });
    expect(s.output()).toMatch(/ADMIN_API_KEY=sk_admin_/);
    await s.stop();
  });

  test("SIGTERM lets an in-flight upload finish, then exits 0", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const admin = "sk_admin_graceful_test_key";
    const s = await spawnServer(productCommand(), { env: { DATA_DIR: dir, ADMIN_API_KEY: admin } });
    const t = (await (
      await fetch(`${s.url}/api/v1/admin/tenants`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "g" }),
      })
    ).json()) as { apiKey: string };
    const size = 3 * 1024 * 1024;
    const r = (await (
      await fetch(`${s.url}/api/v1/upload/request`, {
        method: "POST",
        headers: { authorization: `Bearer ${t.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ fileType: "application/pdf", fileName: "g.pdf", fileSizeBytes: size }),
      })
    ).json()) as { presignedUrl: string };
    let sent = 0;
    let signalled = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (sent >= size) return c.close();
        if (sent >= size / 2 && !signalled) {
          signalled = true;
          s.proc.kill("SIGTERM"); // mid-body
          await Bun.sleep(200);
        }
        const chunk = new Uint8Array(256 * 1024).fill(66);
        if (sent === 0) chunk.set(new TextEncoder().encode("%PDF-1.7\n"));
        sent += chunk.byteLength;
        c.enqueue(chunk);
      },
    });
    const put = await fetch(`${s.url}${r.presignedUrl}`, {
      method: "PUT",
      headers: { "content-length": String(size) },
      body,
    });
    expect(put.status).toBe(200);
    expect(((await put.json()) as { processingStatus: string }).processingStatus).toBe("completed");
    expect(await s.proc.exited).toBe(0);
    expect(s.output()).toContain('"msg":"stopped"');
  });

  test("SIGTERM stops cleanly with exit 0", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const s = await spawnServer(productCommand(), {
      env: { DATA_DIR: dir, ADMIN_API_KEY: "sk_admin_shutdown_test_key" },
    });
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    expect(await s.stop("SIGTERM")).toBe(0);
    expect(s.output()).toContain('"msg":"stopped"');
  });
});

describe("CLI", () => {
  const dir = tempDir();
  dirs.push(dir);
  const env = { DATA_DIR: dir, ADMIN_API_KEY: "sk_admin_cli_test_key_123" };

  test("version and --help", () => {
    expect(run(["version"], env).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = run(["--help"], env).stdout;
    for (const cmd of [
      "serve",
      "migrate",
      "admin create-tenant",
      "admin regenerate-key",
      "admin recalculate-usage",
      "doctor",
      "version",
    ])
      expect(help).toContain(cmd);
  });

  test("migrate is idempotent", () => {
    expect(run(["migrate"], env).stdout).toContain(
      "applied: 0001_init, 0002_webhooks, 0003_storage_module, 0004_job_indexes",
    );
    expect(run(["migrate"], env).stdout).toContain("up to date");
  });

  test("admin create-tenant, regenerate-key, recalculate-usage", () => {
    const created = run(["admin", "create-tenant", "--name", "cli-co", "--quota-bytes", "12345"], env);
    expect(created.code).toBe(0);
    const t = JSON.parse(created.stdout);
    expect(t).toMatchObject({ name: "cli-co", quotaBytes: 12345 });
    expect(t.apiKey).toStartWith("sk_live_");
    const dup = run(["admin", "create-tenant", "--name", "cli-co"], env);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain("already exists");
    const regen = JSON.parse(run(["admin", "regenerate-key", t.id], env).stdout);
    expect(regen.apiKey).not.toBe(t.apiKey);
    const recalc = JSON.parse(run(["admin", "recalculate-usage", t.id], env).stdout);
    expect(recalc.fixed).toBe(0);
    expect(run(["admin", "regenerate-key", "00000000-0000-4000-8000-000000000000"], env).code).toBe(1);
  });

  test("doctor passes on a healthy setup and fails on an unusable data dir", () => {
    const ok = run(["doctor"], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("ok   storage");
    const bad = run(["doctor"], { DATA_DIR: "/proc/no-such-dir/data" });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("FAIL");
  });

  test("an invalid setting stops start-up with exit 1 and names the setting", () => {
    for (const [k, v] of [
      ["PORT", "99999"],
      ["MASTER_KEY", "short"],
      ["STORAGE_BACKEND", "ftp"],
      ["WEBHOOK_MAX_ATTEMPTS", "zero"],
      ["LOG_LEVEL", "loud"],
    ] as const) {
      const r = run(["serve"], { ...env, [k]: v });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(k);
    }
  });
});
