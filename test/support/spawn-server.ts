import { existsSync } from "node:fs";
import { join } from "node:path";

/** Starts the server as a real process on a free port and waits for its "listening" log line. */
export interface Spawned {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  port: number;
  url: string;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export async function spawnServer(
  cmd: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<Spawned> {
  const env: Record<string, string> = {
    ...inheritedEnv(),
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    ...opts.env,
  };
  const proc = Bun.spawn(cmd, { env, cwd: opts.cwd, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  // A test that fails or times out must not leave its server running.
  process.once("exit", () => proc.kill("SIGKILL"));
  let out = "";
  let err = "";
  const decoder = new TextDecoder();
  void (async () => {
    for await (const c of proc.stderr) err += decoder.decode(c);
  })();
  const reader = proc.stdout.getReader();
  const deadline = Date.now() + (opts.timeoutMs ?? 15000);
  let port = 0;
  // One read in flight at a time: racing a fresh read() against a timer each loop would drop
  // the chunk that resolves a read nobody awaits any more.
  let pending = reader.read();
  while (!port) {
    if (Date.now() > deadline) throw new Error(`server did not start:\n${out}\n${err}`);
    const r = await Promise.race([pending, Bun.sleep(200).then(() => null)]);
    if (!r) continue;
    if (r.done) throw new Error(`server exited:\n${out}\n${err}`);
    out += decoder.decode(r.value);
    pending = reader.read();
    const m = /"msg":"listening".*?"port":(\d+)/.exec(out);
    if (m) port = Number(m[1]);
  }
  void (async () => {
    for (let r = await pending; !r.done; r = await reader.read()) out += decoder.decode(r.value);
  })();
  return {
    proc,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => out + err,
    async stop(signal = "SIGTERM") {
      proc.kill(signal);
      return proc.exited;
    },
  };
}

export const BUN = process.execPath;

/**
 * The command that runs the product's CLI: `bun src/main.ts` by default; the compiled binary
 * (SB_BINARY, else dist/storage-brain) when the suite runs against it (SB_TEST_TARGET=binary).
 * Tests that start a server or run a CLI command use this, so both runs cover them.
 */
export function productCommand(...args: string[]): string[] {
  if (process.env.SB_TEST_TARGET !== "binary") return [BUN, join(import.meta.dir, "../../src/main.ts"), ...args];
  const bin = process.env.SB_BINARY ?? join(import.meta.dir, "../../dist/storage-brain");
  if (!existsSync(bin)) throw new Error(`${bin} does not exist: run \`npm run build\` (npm run test:binary does)`);
  return [bin, ...args];
}

/** Runs a command to its end, `env` over the inherited one (inheritedEnv); exit code and output. */
export async function runCommand(cmd: string[], env: Record<string, string>) {
  const p = Bun.spawn(cmd, { env: { ...inheritedEnv(), ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, stdout, stderr };
}

/** The test process's env minus the backend choice of `npm run test:s3` (spawned servers pick their own). */
export function inheritedEnv(): Record<string, string> {
  const { STORAGE_BACKEND: _ignored, ...rest } = process.env as Record<string, string>;
  return rest;
}
