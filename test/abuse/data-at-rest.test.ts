import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { createServices } from "../../src/app";
import { rotateMasterKey } from "../../src/cli/rotate-master-key";
import { parseConfig } from "../../src/config/load";
import { ManualClock } from "../../src/domain/shared/clock";
import { silentLogger } from "../../src/logger";
import { openRuntime } from "../../src/runtime";
import { databaseText } from "../support/db-dump";
import { ADMIN_KEY, createHarness, tempDir } from "../support/harness";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const mode = (p: string) => statSync(p).mode & 0o777;

test("DATA_DIR is created 0700 and the database files (db, -wal, -shm) 0600, whatever the umask", async () => {
  for (const umask of [0o000, 0o022]) {
    const parent = tempDir("sb-modes-");
    dirs.push(parent);
    const dataDir = join(parent, "data");
    const old = process.umask(umask);
    try {
      const config = parseConfig({ DATA_DIR: dataDir, ADMIN_API_KEY: ADMIN_KEY, STORAGE_BACKEND: "local" });
      const rt = await openRuntime(config, silentLogger, new ManualClock(), { generateAdminKey: true });
      await createServices(rt).tenants.create({ name: "modes" }); // a write, so -wal has content
      const db = config.databasePath;
      expect(`umask ${umask.toString(8)} dir ${mode(dataDir).toString(8)}`).toBe(`umask ${umask.toString(8)} dir 700`);
      for (const f of [db, `${db}-wal`, `${db}-shm`]) {
        expect(existsSync(f)).toBe(true);
        expect(`${f.slice(parent.length)} ${mode(f).toString(8)}`).toBe(`${f.slice(parent.length)} 600`);
      }
      expect(mode(join(dataDir, "master.key"))).toBe(0o600);
      await rt.close();
    } finally {
      process.umask(old);
    }
  }
});

test("webhook secrets are stored encrypted: never in the database files in clear; tenant/info still returns it", async () => {
  const h = await createHarness({ STORAGE_BACKEND: "local" });
  try {
    const t = await h.createTenant({ name: "sealed" });
    const info = await h.json("GET", "/api/v1/tenant/info", { key: t.apiKey });
    const secret: string = info.body.webhookSecret;
    expect(secret).toStartWith("whsec_");
    const rotated = (await h.json("POST", "/api/v1/tenant/webhook-secret/rotate", { key: t.apiKey })).body
      .webhookSecret as string;
    expect((await h.json("GET", "/api/v1/tenant/info", { key: t.apiKey })).body.webhookSecret).toBe(rotated);

    const onDisk = await databaseText(h.rt);
    expect(onDisk.length).toBeGreaterThan(0);
    // Booleans, not toContain: a failure must not print megabytes of database file.
    expect(onDisk.includes(secret)).toBe(false);
    expect(onDisk.includes(rotated)).toBe(false);
    expect(onDisk.includes("whsec_")).toBe(false);
    expect((await h.rt.repos.tenants.byId(t.id))?.webhookSecret).toStartWith("enc1:");
  } finally {
    await h.close();
  }
});

test("existing plaintext secrets are encrypted at start-up (data migration); reading gives the same secret", async () => {
  const dir = tempDir("sb-seal-");
  dirs.push(dir);
  const config = parseConfig({ DATA_DIR: dir, ADMIN_API_KEY: ADMIN_KEY, STORAGE_BACKEND: "local" });
  const rt1 = await openRuntime(config, silentLogger, new ManualClock(), { generateAdminKey: true });
  const { tenant, apiKey } = await createServices(rt1).tenants.create({ name: "legacy" });
  await rt1.close();
  // As an older version stored it: in clear.
  const legacy = "whsec_legacyPlaintextSecret0123456789abcdefABCDEF";
  const raw = new Database(config.databasePath);
  raw.query("UPDATE tenants SET webhook_secret = ? WHERE id = ?").run(legacy, tenant.id);
  raw.close();

  const rt2 = await openRuntime(config, silentLogger, new ManualClock(), { generateAdminKey: true });
  try {
    const stored = (await rt2.repos.tenants.byId(tenant.id))?.webhookSecret ?? "";
    expect(stored).toStartWith("enc1:");
    expect(stored).not.toContain(legacy);
    const services = createServices(rt2);
    expect(await services.tenants.webhookSecretOf((await rt2.repos.tenants.byId(tenant.id))!)).toBe(legacy);
    const { createApp } = await import("../../src/app");
    const res = await createApp(rt2, services).handle(
      new Request("http://localhost/api/v1/tenant/info", { headers: { authorization: `Bearer ${apiKey}` } }),
    );
    expect(((await res.json()) as { webhookSecret: string }).webhookSecret).toBe(legacy);
    // A sealed value moved to another tenant's row does not open there.
    const other = (await services.tenants.create({ name: "other" })).tenant;
    await expect(services.tenants.webhookSecretOf({ id: other.id, webhookSecret: stored })).rejects.toThrow();
  } finally {
    await rt2.close();
  }
});

test("a master key rotation re-seals webhook secrets under the new key; the secret stays the same", async () => {
  const dir = tempDir("sb-rotate-");
  dirs.push(dir);
  const config = parseConfig({ DATA_DIR: dir, ADMIN_API_KEY: ADMIN_KEY, STORAGE_BACKEND: "local" });
  const rt1 = await openRuntime(config, silentLogger, new ManualClock(), { generateAdminKey: true });
  const services1 = createServices(rt1);
  const { tenant } = await services1.tenants.create({ name: "rotating" });
  const before = await services1.tenants.webhookSecretOf((await rt1.repos.tenants.byId(tenant.id))!);
  const oldKeyId = rt1.masterKey.active.id;
  expect((await rt1.repos.tenants.byId(tenant.id))?.webhookSecret).toStartWith(`enc1:${oldKeyId}:`);
  const ok = await rotateMasterKey(rt1, services1.audit, { batchSize: 100, pauseMs: 0, out: () => {} });
  expect(ok).toBe(true);
  await rt1.close();
  // The retired key file is gone (the operator deleted it, as the rotation advises): still readable.
  for (const f of readdirSync(dir).filter((n) => n.startsWith("master.key.retired-"))) rmSync(join(dir, f));

  const rt2 = await openRuntime(config, silentLogger, new ManualClock(), { generateAdminKey: true });
  try {
    expect(rt2.masterKey.active.id).not.toBe(oldKeyId);
    const row = (await rt2.repos.tenants.byId(tenant.id))!;
    expect(row.webhookSecret).toStartWith(`enc1:${rt2.masterKey.active.id}:`);
    expect(await createServices(rt2).tenants.webhookSecretOf(row)).toBe(before);
  } finally {
    await rt2.close();
  }
});
