/** Spawning servers, timing their start-up and sampling their memory. */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const BUN = process.execPath;
export const ROOT = join(import.meta.dir, "..", "..");

export interface Server {
  name: string;
  proc: Bun.Subprocess;
  url: string;
  port: number;
  /** spawn → first 200 from the ready path, in ms */
  startupMs: number;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (the OS picked it for a listener we close at once). */
export function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

/**
 * Starts `cmd` with PORT set, polls `readyPath` until it answers 200 and returns the server.
 * stdout/stderr go to `logFile` (a file, so the bench process spends nothing draining pipes).
 */
export async function startServer(
  name: string,
  cmd: string[],
  opts: { env?: Record<string, string>; cwd?: string; logFile: string; readyPath?: string; timeoutMs?: number },
): Promise<Server> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = Bun.file(opts.logFile);
  const t0 = performance.now();
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd,
    env: { ...(process.env as Record<string, string>), PORT: String(port), HOST: "127.0.0.1", ...opts.env },
    stdin: "ignore",
    stdout: log,
    stderr: log,
  });
  const deadline = t0 + (opts.timeoutMs ?? 20_000);
  for (;;) {
    const res = await fetch(url + (opts.readyPath ?? "/health")).catch(() => null);
    if (res) await res.arrayBuffer();
    if (res?.status === 200) break;
    if (proc.exitCode !== null || performance.now() > deadline) {
      proc.kill();
      throw new Error(
        `${name} did not start (exit ${proc.exitCode}); log:\n${readFileSync(opts.logFile, "utf8").slice(-2000)}`,
      );
    }
    await Bun.sleep(2);
  }
  const startupMs = performance.now() - t0;
  return {
    name,
    proc,
    url,
    port,
    startupMs,
    async stop() {
      proc.kill("SIGTERM");
      const killer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await proc.exited;
      clearTimeout(killer);
    },
  };
}

/** VmRSS and VmHWM (peak) of a process in MiB, from /proc/<pid>/status. */
export function memOf(pid: number): { rssMiB: number; hwmMiB: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(s)?.[1] ?? 0);
  return { rssMiB: kb("VmRSS") / 1024, hwmMiB: kb("VmHWM") / 1024 };
}

/** Samples VmRSS every `everyMs` until stopped; returns the highest sample seen. */
export function sampleRss(pid: number, everyMs = 20) {
  let max = 0;
  const tick = () => {
    try {
      max = Math.max(max, memOf(pid).rssMiB);
    } catch {}
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    stop(): number {
      clearInterval(timer);
      tick();
      return max;
    },
  };
}

/** CPU time (user + system) a process has used so far, in ms (from /proc/<pid>/stat, 10 ms ticks). */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14, 15)
}
