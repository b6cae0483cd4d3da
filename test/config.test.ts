import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig, parseConfig } from "../src/config/load";

describe("config", () => {
  test("defaults match the README's configuration table", () => {
    const c = parseConfig({});
    expect(c).toMatchObject({
      PORT: 3000,
      HOST: "0.0.0.0",
      DATA_DIR: "./data",
      STORAGE_BACKEND: "local",
      S3_REGION: "us-east-1",
      S3_FORCE_PATH_STYLE: false,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: false,
      WEBHOOK_MAX_ATTEMPTS: 3,
      WEBHOOK_BACKOFF_MS: 1000,
      WEBHOOK_TIMEOUT_MS: 10000,
      UPLOAD_EXPIRY_SECONDS: 900,
      UPLOAD_IDLE_TIMEOUT_MS: 60000,
      DELETED_RETENTION_SECONDS: 604800,
      CORS_ORIGINS: "*",
      LOG_LEVEL: "info",
    });
    expect(c.databasePath).toBe("data/storage-brain.db");
    expect(c.publicUrl).toBe("http://localhost:3000");
    expect(Object.isFrozen(c)).toBe(true);
  });

  test("environment wins over the config file, which wins over defaults", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-cfg-"));
    writeFileSync(join(dir, "storage-brain.config.ts"), "export default { PORT: 4000, LOG_LEVEL: 'debug' };");
    const c = await loadConfig({ PORT: "5000" }, dir);
    expect(c.PORT).toBe(5000);
    expect(c.LOG_LEVEL).toBe("debug");
    const named = join(dir, "other.config.ts");
    writeFileSync(named, "export default { HOST: '127.0.0.1' };");
    expect((await loadConfig({ STORAGE_BRAIN_CONFIG: named }, dir)).HOST).toBe("127.0.0.1");
    await expect(loadConfig({ STORAGE_BRAIN_CONFIG: join(dir, "missing.ts") }, dir)).rejects.toThrow(ConfigError);
  });

  test("the shipped example config is valid and sets nothing unusual", async () => {
    const c = await loadConfig({}, join(import.meta.dir, ".."));
    expect(c.PORT).toBe(3000);
    expect(c.STORAGE_BACKEND).toBe("local");
  });

  const bad: [string, unknown][] = [
    ["PORT", "-1"],
    ["PORT", "abc"],
    ["STORAGE_BACKEND", "ftp"],
    ["MASTER_KEY", "dG9vc2hvcnQ="],
    ["PUBLIC_URL", "not a url"],
    ["S3_FORCE_PATH_STYLE", "maybe"],
    ["UPLOAD_EXPIRY_SECONDS", "0"],
    ["DATABASE_URL", "mysql://x"],
    ["ADMIN_API_KEY", "short"],
  ];
  for (const [key, value] of bad) {
    test(`rejects ${key}=${value} naming the setting`, () => {
      expect(() => parseConfig({ [key]: value })).toThrow(new RegExp(key));
    });
  }

  test("DATABASE_URL: a file: URL is SQLite, postgres:// and postgresql:// are PostgreSQL", () => {
    expect(parseConfig({ DATABASE_URL: "file:/tmp/x.db" })).toMatchObject({
      databasePath: "/tmp/x.db",
      postgresUrl: null,
    });
    for (const url of ["postgres://u@127.0.0.1:5432/db", "postgresql://u@h/db"])
      expect(parseConfig({ DATABASE_URL: url }).postgresUrl).toBe(url);
  });

  test("s3 backend requires a bucket; unknown keys in the file are rejected", () => {
    expect(() => parseConfig({ STORAGE_BACKEND: "s3" })).toThrow(/S3_BUCKET/);
    expect(() => parseConfig({ PROT: 1 })).toThrow(/PROT/);
  });
});
