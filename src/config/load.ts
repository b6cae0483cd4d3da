import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { CONFIG_KEYS, type Config, configSchema, isPostgresUrl, type RawConfig } from "./schema";

/** Thrown when a setting is invalid; `main` prints it and exits with code 1. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Source = Record<string, unknown>;

/**
 * Builds the config from defaults → `storage-brain.config.ts` (or `STORAGE_BRAIN_CONFIG`)
 * → environment. The result is validated once and frozen; callers pass it down explicitly.
 */
export async function loadConfig(
  env: Record<string, string | undefined> = process.env,
  cwd = process.cwd(),
): Promise<Config> {
  const fileValues = await readConfigFile(
    env.STORAGE_BRAIN_CONFIG ? resolve(cwd, env.STORAGE_BRAIN_CONFIG) : join(cwd, "storage-brain.config.ts"),
    Boolean(env.STORAGE_BRAIN_CONFIG),
  );
  const envValues: Source = {};
  for (const key of CONFIG_KEYS) {
    const value = env[key];
    if (value !== undefined && value !== "") envValues[key] = value;
  }
  return parseConfig({ ...fileValues, ...envValues });
}

/** Validates merged raw values; pure, so tests can use it without files or env. */
export function parseConfig(values: Source): Config {
  const unknown = Object.keys(values).filter((k) => !(CONFIG_KEYS as string[]).includes(k));
  if (unknown.length) throw new ConfigError(`Unknown setting(s) in config file: ${unknown.join(", ")}`);
  const parsed = configSchema.safeParse(values);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(config)"}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  return finish(parsed.data);
}

function finish(raw: RawConfig): Config {
  const postgresUrl = raw.DATABASE_URL && isPostgresUrl(raw.DATABASE_URL) ? raw.DATABASE_URL : null;
  const databasePath =
    raw.DATABASE_URL && !postgresUrl
      ? raw.DATABASE_URL === ":memory:" || raw.DATABASE_URL === "file::memory:"
        ? ":memory:"
        : raw.DATABASE_URL.slice("file:".length)
      : join(raw.DATA_DIR, "storage-brain.db");
  const publicUrl = (raw.PUBLIC_URL ?? `http://localhost:${raw.PORT}`).replace(/\/+$/, "");
  const corsOrigins = raw.CORS_ORIGINS.split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  return Object.freeze({ ...raw, databasePath, postgresUrl, publicUrl, corsOrigins: Object.freeze(corsOrigins) });
}

async function readConfigFile(path: string, required: boolean): Promise<Source> {
  if (!existsSync(path)) {
    if (required) throw new ConfigError(`STORAGE_BRAIN_CONFIG: file not found: ${path}`);
    return {};
  }
  let mod: { default?: unknown };
  try {
    mod = await import(path);
  } catch (err) {
    throw new ConfigError(`Config file ${path} could not be loaded: ${(err as Error).message}`);
  }
  const value = mod.default ?? {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`Config file ${path} must export a default object of settings`);
  }
  return value as Source;
}
