import { test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp, createServices, type Services } from "../../src/app";
import { parseConfig } from "../../src/config/load";
import { type Clock, ManualClock } from "../../src/domain/shared/clock";
import { silentLogger } from "../../src/logger";
import { openRuntime, type Runtime } from "../../src/runtime";
import { createTestPgDatabase, type TestPgDatabase } from "./pg";
import { sharedS3 } from "./s3";
import { productCommand, type Spawned, spawnServer } from "./spawn-server";

export const ADMIN_KEY = "sk_admin_test_0123456789abcdef";

/**
 * Where harness requests go (see test/support/README.md): "in-process" (default, `npm test`):
 * `app.handle()`; "binary" (`npm run test:binary`, SB_TEST_TARGET=binary): real HTTP to
 * `dist/storage-brain serve` (or SB_BINARY) started per harness on a temp data dir.
 */
export const TEST_TARGET: "in-process" | "binary" = process.env.SB_TEST_TARGET === "binary" ? "binary" : "in-process";
const BINARY = TEST_TARGET === "binary";

/**
 * `test`, for a test that cannot run against the binary because it needs the in-process app
 * (it moves the ManualClock, or drives a job or service directly). Against the binary it is
 * reported as skipped with `why` in its name, so the gap stays visible. Prefer writing tests that
 * go through `h.req` only; use this for the few that truly cannot.
 */
export function inProcessOnly(why: string): (name: string, fn: () => unknown, timeout?: number) => void {
  return (name, fn, timeout) =>
    BINARY ? test.skip(`${name} [in-process only: ${why}]`, fn as () => void) : test(name, fn as () => void, timeout);
}

/**
 * The metadata database of every harness: SQLite in its data dir (default), or, with
 * SB_TEST_DB=postgres (`npm run test:pg`), a fresh PostgreSQL database per harness on
 * 127.0.0.1:5432 (test/support/pg.ts), dropped when the harness closes. A run that can't reach
 * PostgreSQL fails; it never skips.
 */
export const TEST_DB: "sqlite" | "postgres" = process.env.SB_TEST_DB === "postgres" ? "postgres" : "sqlite";

/**
 * `test`, for a test of something only SQLite has (its file on disk, its backup, its locking).
 * Under `npm run test:pg` it is reported as skipped with `why` in its name.
 */
export function sqliteOnly(why: string): (name: string, fn: () => unknown, timeout?: number) => void {
  return (name, fn, timeout) =>
    TEST_DB === "postgres"
      ? test.skip(`${name} [SQLite only: ${why}]`, fn as () => void)
      : test(name, fn as () => void, timeout);
}

/** The clock a binary-mode harness reports: real time; moving it is impossible from outside. */
class WallClock extends ManualClock {
  override now() {
    return Date.now();
  }
  /** A few ms (distinct timestamps) really pass; anything longer needs the in-process clock. */
  override advance(ms: number): void {
    if (ms < 0 || ms > 100)
      throw new Error("the server under test runs on real time: mark this test inProcessOnly(why)");
    Bun.sleepSync(ms + 1);
  }
  override set(): void {
    this.advance(Number.POSITIVE_INFINITY);
  }
}

export function tempDir(prefix = "sb-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface Harness {
  /**
   * The runtime on the harness's data dir. In binary mode it is a second opener of the same
   * database and store as the server (SQLite WAL): use it to observe effects (rows, objects) or
   * to set up state the API cannot reach; requests always go through `req`/`json`.
   */
  rt: Runtime;
  services: Services;
  /** The app, built in-process in both modes: its route table (`app.routes`) is what tests introspect. */
  app: ReturnType<typeof createApp>;
  /** Hand-moved in-process; real time (advance() throws) in binary mode. */
  clock: ManualClock;
  dir: string;
  /** The spawned server in binary mode (its URL and log output), else null. */
  server: Spawned | null;
  /** A request to the server under test; `key` becomes the Bearer token, objects become JSON bodies. */
  req(
    method: string,
    path: string,
    opts?: { key?: string | null; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
  json<T = any>(
    method: string,
    path: string,
    opts?: { key?: string | null; body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; body: T; res: Response }>;
  createTenant(input?: {
    name?: string;
    quotaBytes?: number;
    allowedFileTypes?: string[];
  }): Promise<{ id: string; apiKey: string }>;
  close(): Promise<void>;
}

let counter = 0;

/**
 * A real app on a temp data dir (real SQLite file, real disk), with a hand-moved clock; in
 * binary mode the real server process on that data dir instead (see TEST_TARGET).
 * With STORAGE_BACKEND=s3 in the environment (`npm run test:s3`), every harness stores its objects
 * in a shared s3rver on 127.0.0.1 under its own key prefix instead of on local disk.
 */
export async function createHarness(
  settings: Record<string, unknown> = {},
  clock: Clock = new ManualClock(Date.now()),
  opts: {
    /**
     * Serve over a real socket in both modes (the product command: `bun src/main.ts`, or the
     * binary): for what only exists on the wire (Content-Length of a stream, Transfer-Encoding).
     */
    realHttp?: boolean;
  } = {},
): Promise<Harness> {
  const dir = tempDir();
  const backend =
    process.env.STORAGE_BACKEND === "s3" && settings.STORAGE_BACKEND === undefined
      ? (await sharedS3()).settings(`h${++counter}-${Date.now()}/`)
      : {};
  const pg: TestPgDatabase | null =
    TEST_DB === "postgres" && settings.DATABASE_URL === undefined ? await createTestPgDatabase() : null;
  const raw: Record<string, unknown> = {
    DATA_DIR: dir,
    ADMIN_API_KEY: ADMIN_KEY,
    PUBLIC_URL: "http://localhost:3000",
    ...(pg ? { DATABASE_URL: pg.url } : {}),
    ...backend,
    ...settings,
  };
  const config = parseConfig(raw);
  let server: Spawned | null = null;
  if (BINARY || opts.realHttp) {
    // The server creates the data dir's database, master key and migrations; the test process
    // opens them afterwards (below) to observe effects.
    server = await spawnServer(productCommand("serve"), { cwd: dir, env: toEnv(raw) });
    clock = new WallClock();
  }
  const rt = await openRuntime(config, silentLogger, clock, { generateAdminKey: !server });
  const services = createServices(rt);
  const app = createApp(rt, services);
  const send = (path: string, init: RequestInit) =>
    server ? fetch(`${server.url}${path}`, init) : app.handle(new Request(`http://localhost${path}`, init));
  const req: Harness["req"] = (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    let body: RequestInit["body"] | undefined;
    if (opts.body !== undefined) {
      if (typeof opts.body === "string" || opts.body instanceof Uint8Array) {
        body = opts.body as RequestInit["body"];
        // In-process Requests carry no Content-Length; real clients send one for fixed bodies.
        headers["content-length"] ??= String(
          typeof opts.body === "string" ? Buffer.byteLength(opts.body) : opts.body.byteLength,
        );
      } else if (opts.body instanceof ReadableStream || opts.body instanceof Blob)
        body = opts.body as RequestInit["body"];
      else {
        body = JSON.stringify(opts.body);
        headers["content-type"] ??= "application/json";
        headers["content-length"] ??= String(Buffer.byteLength(body));
      }
    }
    return send(path, { method, headers, body, redirect: "manual" });
  };
  const json: Harness["json"] = async (method, path, opts) => {
    const res = await req(method, path, opts);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, res };
  };
  return {
    rt,
    services,
    app,
    clock: clock as ManualClock,
    dir,
    server,
    req,
    json,
    async createTenant(input = {}) {
      const r = await json("POST", "/api/v1/admin/tenants", {
        key: ADMIN_KEY,
        body: { name: input.name ?? `tenant-${++counter}-${Date.now()}`, ...input },
      });
      if (r.status !== 201) throw new Error(`createTenant: ${r.status} ${JSON.stringify(r.body)}`);
      return { id: r.body.id, apiKey: r.body.apiKey };
    },
    async close() {
      if (server) {
        const exited = server.stop();
        if ((await Promise.race([exited, Bun.sleep(5000).then(() => "timeout")])) === "timeout") {
          server.proc.kill("SIGKILL");
          await exited;
        }
      }
      await rt.close();
      await pg?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Harness settings as the server's environment (the config schema coerces the strings back). */
function toEnv(settings: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(settings)) if (v !== undefined) env[k] = String(v);
  return env;
}

/** The stored (encrypted) bytes of a file's object, whatever the backend. */
export async function storedBytes(h: Harness, fileId: string): Promise<Uint8Array | null> {
  const f = await h.rt.repos.files.byId(fileId);
  const s = f ? await h.rt.objects.backend.get(f.storageKey) : null;
  return s ? new Uint8Array(await new Response(s).arrayBuffer()) : null;
}

/** Minimal valid content for each default type (magic bytes + padding to `size`). */
export function sampleContent(type: string, size: number): Uint8Array<ArrayBuffer> {
  const magic: Record<string, number[]> = {
    "image/png": [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52],
    "image/jpeg": [0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0],
    "image/gif": [0x47, 0x49, 0x46, 0x38, 0x39, 0x61],
    "application/pdf": [0x25, 0x50, 0x44, 0x46, 0x2d, 0x31, 0x2e, 0x37, 0x0a],
  };
  const m = magic[type] ?? [];
  const out = new Uint8Array(size);
  for (let i = 0; i < out.length; i++) out[i] = (i * 31 + 7) & 0xff;
  out.set(m.slice(0, size));
  return out;
}
