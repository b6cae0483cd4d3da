/**
 * JSON-lines logger on stdout. Hand-written (20 lines) rather than pino: pino's transports use
 * worker threads that don't survive `bun build --compile`, and we need nothing beyond levels and
 * fields. Callers never pass API keys; `redact` masks anything that looks like one anyway.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
// Every key kind the service issues or accepts (sk_live_, sk_user_, sk_admin_, and any later
// sk_<kind>_): the kind stays readable, the secret part goes.
const KEY_LIKE = /\b(sk_[a-z]+_)[A-Za-z0-9_-]+/g;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(
  level: LogLevel = "info",
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Logger {
  const min = ORDER[level];
  // One Date formatting per millisecond, however many lines it holds (an access line per request).
  let lastMs = 0;
  let lastIso = "";
  const isoNow = () => {
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = new Date(ms).toISOString();
    }
    return lastIso;
  };
  const log =
    (lvl: LogLevel) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      if (ORDER[lvl] < min) return;
      write(JSON.stringify({ time: isoNow(), level: lvl, msg, ...fields }).replace(KEY_LIKE, "$1[redacted]"));
    };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

/**
 * Stdout for log lines, written once per event-loop turn: under load the access log was one
 * write(2) per request, 9 % of `GET /files/:id`'s JS-thread samples (bench/profile.ts). Lines
 * reach stdout at the end of the turn that logged them (setImmediate), at once when 64 KiB are
 * waiting, and on exit; `flush()` writes what waits now, before output that must come after it.
 */
export function turnBatchedStdout(maxBytes = 64 * 1024): { write(line: string): void; flush(): void } {
  let lines: string[] = [];
  let bytes = 0;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (lines.length === 0) return;
    const out = lines.join("");
    lines = [];
    bytes = 0;
    process.stdout.write(out);
  };
  process.on("exit", flush);
  return {
    write(line) {
      lines.push(line, "\n");
      bytes += line.length + 1;
      if (bytes >= maxBytes) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The chain of errors under `err` (its `cause`, that one's cause, ...), one line: "name: message
 * (code)" joined by " <- ". For a 503 this is where the store's or network's own error (a reset,
 * a refused connection, a timeout waiting for a socket) is seen; `undefined` when there is none.
 */
export function describeCauses(err: unknown): string | undefined {
  const parts: string[] = [];
  let e = (err as { cause?: unknown } | null)?.cause;
  for (let depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (!(e instanceof Error)) {
      parts.push(String(e));
      break;
    }
    const code = (e as { code?: unknown }).code;
    parts.push(`${e.name}: ${e.message}${typeof code === "string" && !e.message.includes(code) ? ` (${code})` : ""}`);
  }
  return parts.length ? parts.join(" <- ") : undefined;
}
