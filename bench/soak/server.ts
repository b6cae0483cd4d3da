/** The soak's server: the compiled binary on a temp data dir, its log in a file, its memory sampled. */
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../lib/proc";

export const BINARY = join(ROOT, "dist", "storage-brain");
export const ADMIN_KEY = "sk_admin_soak_0123456789abcdef";

/** `npm run build` unless told not to (then the existing binary must be there). */
export function ensureBinary(build: boolean, log: (m: string) => void): void {
  if (build) {
    log("building dist/storage-brain (npm run build)");
    const r = Bun.spawnSync(["npm", "run", "build"], { cwd: ROOT, stdout: "ignore", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`npm run build failed:\n${r.stderr.toString()}`);
  }
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run npm run build`);
  log(`binary built ${statSync(BINARY).mtime.toISOString()}`);
}

export interface S3Store {
  env: Record<string, string>;
  /** The runtime s3rver runs under ("node" or "bun"). */
  runtime: string;
  /** What went wrong inside the peer while it served: faults it logged, and an exit before close(). */
  health(): { faults: string[]; exitedEarly: string | null };
  close(): Promise<void>;
}

/**
 * s3rver on 127.0.0.1 with one bucket, for STORAGE_BACKEND=s3, in a child process
 * (s3rver-process.mjs) under Node where Node is installed (s3rver's own runtime), else Bun.
 * Its stderr is passed through and scanned for the fault lines it writes.
 */
export async function startS3(dir: string): Promise<S3Store> {
  mkdirSync(dir, { recursive: true });
  const bucket = "soak";
  const node = Bun.which("node");
  const proc = Bun.spawn([node ?? process.execPath, join(import.meta.dir, "s3rver-process.mjs"), dir, bucket], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  process.once("exit", () => proc.kill("SIGKILL"));
  const faults: string[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of proc.stderr) {
      process.stderr.write(chunk);
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.includes('"s3rver-fault"')) faults.push(line);
    }
  })();
  let closing = false;
  let exitedEarly: string | null = null;
  void proc.exited.then((code) => {
    if (!closing)
      exitedEarly = `exit ${code}${proc.signalCode ? ` (${proc.signalCode})` : ""} at ${new Date().toISOString()}`;
  });
  const reader = proc.stdout.getReader();
  let out = "";
  while (!out.includes("\n")) {
    const r = await reader.read();
    if (r.done) throw new Error(`s3rver did not start: ${out}`);
    out += new TextDecoder().decode(r.value);
  }
  reader.releaseLock();
  const { port } = JSON.parse(out) as { port: number };
  return {
    runtime: node ? "node" : "bun",
    env: {
      STORAGE_BACKEND: "s3",
      S3_BUCKET: bucket,
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_FORCE_PATH_STYLE: "true",
      S3_KEY_PREFIX: "soak/",
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
    },
    health: () => ({ faults, exitedEarly }),
    async close() {
      closing = true;
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

export interface SoakServer {
  proc: Bun.Subprocess;
  base: string;
  logFile: string;
  rssMiB(): number;
  stop(): Promise<number>;
}

/** Starts the binary (or `cmd`) with PORT=0 and waits for its "listening" line (which names the port). */
export async function startServer(
  env: Record<string, string>,
  logFile: string,
  cmd: string[] = [BINARY, "serve"],
): Promise<SoakServer> {
  const proc = Bun.spawn(cmd, {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PORT: "0", HOST: "127.0.0.1", ...env },
    stdin: "ignore",
    stdout: Bun.file(logFile),
    stderr: Bun.file(`${logFile}.stderr`),
  });
  process.once("exit", () => proc.kill("SIGKILL"));
  const deadline = Date.now() + 20_000;
  let port = 0;
  while (!port) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`server did not start (exit ${proc.exitCode}):\n${readLog(logFile).slice(-2000)}`);
    }
    await Bun.sleep(50);
    const m = /"msg":"listening".*?"port":(\d+)/.exec(readLog(logFile));
    if (m) port = Number(m[1]);
  }
  return {
    proc,
    base: `http://127.0.0.1:${port}`,
    logFile,
    rssMiB() {
      const s = readFileSync(`/proc/${proc.pid}/status`, "utf8");
      return Number(/^VmRSS:\s+(\d+)/m.exec(s)?.[1] ?? 0) / 1024;
    },
    async stop() {
      proc.kill("SIGTERM");
      const killer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      const code = await proc.exited;
      clearTimeout(killer);
      return code;
    },
  };
}

function readLog(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
