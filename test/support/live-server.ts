import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./harness";
import { inheritedEnv, productCommand, type Spawned, spawnServer } from "./spawn-server";

const ROOT = join(import.meta.dir, "../..");
export const LIVE_ADMIN_KEY = "sk_admin_live_test_0123456789";

/** The product (`bun src/main.ts serve`, or the binary in binary mode) as a real process on a temp data dir, with helpers that speak to it over TCP. */
export interface LiveServer extends Spawned {
  dir: string;
  call(
    method: string,
    path: string,
    opts?: { key?: string; body?: unknown; headers?: Record<string, string>; base?: string },
  ): Promise<{ status: number; body: any; res: Response }>;
  createTenant(quotaBytes?: number): Promise<{ id: string; apiKey: string }>;
  /** Parsed JSON log lines printed so far. */
  logs(): { level: string; msg: string; [k: string]: unknown }[];
  /** Open file descriptors of the server process (sockets and files). */
  fdCount(): number;
  close(): Promise<void>;
}

export async function startLiveServer(env: Record<string, string> = {}): Promise<LiveServer> {
  const dir = tempDir("sb-live-");
  // The source server under `npm test`, the compiled binary under `npm run test:binary`.
  const s = await spawnServer(productCommand("serve"), {
    cwd: ROOT,
    env: {
      DATA_DIR: dir,
      ADMIN_API_KEY: LIVE_ADMIN_KEY,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true",
      STORAGE_BACKEND: "local",
      ...env,
    },
  });
  const call: LiveServer["call"] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    let body: RequestInit["body"] | undefined;
    if (opts.body instanceof Uint8Array || typeof opts.body === "string") body = opts.body as RequestInit["body"];
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["content-type"] ??= "application/json";
    }
    const res = await fetch(`${opts.base ?? s.url}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {}
    return { status: res.status, body: parsed, res };
  };
  return {
    ...s,
    dir,
    call,
    async createTenant(quotaBytes = 100 * 1024 * 1024) {
      const r = await call("POST", "/api/v1/admin/tenants", {
        key: LIVE_ADMIN_KEY,
        body: { name: `t-${Math.random().toString(36).slice(2)}`, quotaBytes },
      });
      if (r.status !== 201) throw new Error(`createTenant: ${r.status} ${JSON.stringify(r.body)}`);
      return { id: r.body.id, apiKey: r.body.apiKey };
    },
    logs: () =>
      s
        .output()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l)),
    fdCount: () => readdirSync(`/proc/${s.proc.pid}/fd`).length,
    async close() {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<Exclude<T, false | null | undefined | 0 | "">> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as Exclude<T, false | null | undefined | 0 | "">;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

/**
 * Runs `serve` (product command) to its exit, for start-ups that must be refused: exit code and
 * output. A server that starts instead is killed after `timeoutMs`, so the caller's assertions fail.
 */
export async function serveUntilExit(env: Record<string, string>, timeoutMs = 20_000) {
  const p = Bun.spawn(productCommand("serve"), {
    env: { ...inheritedEnv(), PORT: "0", HOST: "127.0.0.1", ADMIN_API_KEY: LIVE_ADMIN_KEY, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr, listened: stdout.includes('"msg":"listening"') };
}
