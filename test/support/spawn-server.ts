/** Starts the server as a real process on a free port and waits for its "listening" log line. */
export interface Spawned {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  port: number;
  url: string;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export async function spawnServer(cmd: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<Spawned> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...opts.env };
  const proc = Bun.spawn(cmd, { env, cwd: opts.cwd, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  let out = "";
  let err = "";
  const decoder = new TextDecoder();
  (async () => {
    for await (const c of proc.stderr) err += decoder.decode(c);
  })();
  const reader = proc.stdout.getReader();
  const deadline = Date.now() + (opts.timeoutMs ?? 15000);
  let port = 0;
  while (!port) {
    if (Date.now() > deadline) throw new Error(`server did not start:\n${out}\n${err}`);
    const { done, value } = await Promise.race([reader.read(), Bun.sleep(200).then(() => ({ done: false, value: undefined }))]);
    if (done) throw new Error(`server exited:\n${out}\n${err}`);
    if (value) out += decoder.decode(value);
    const m = /"msg":"listening".*?"port":(\d+)/.exec(out);
    if (m) port = Number(m[1]);
  }
  (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      out += decoder.decode(value);
    }
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
