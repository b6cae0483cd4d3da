import type { Config } from "../config/schema";
import { intFlag, parseCommandArgs, UsageError } from "./args";
import { configuredLocation, describeLocation, openLocation, parseBackendUrl, sameLocation } from "./backend-url";
import { copyObjects, summaryLines } from "./objects-copy";

/** `objects copy`: see cli/objects-copy.ts; the URL forms are in cli/backend-url.ts. */
export async function objects(config: Config, args: string[]) {
  const [sub, ...rest] = args;
  if (sub !== "copy") throw new UsageError(`unknown objects command: ${sub ?? "(none)"}`);
  const { values } = parseCommandArgs(rest, {
    options: { to: { type: "string" }, from: { type: "string" }, concurrency: { type: "string" } },
  });
  if (typeof values.to !== "string") throw new UsageError("objects copy needs --to <url>");
  const to = parseBackendUrl(values.to, "--to");
  const from = typeof values.from === "string" ? parseBackendUrl(values.from, "--from") : configuredLocation(config);
  if (sameLocation(from, to)) throw new UsageError(`--to names the source itself (${describeLocation(from)})`);
  const concurrency = Math.max(1, intFlag(values.concurrency, "--concurrency", 4, 64));
  const open = async (loc: typeof to, role: "source" | "target") => {
    try {
      const backend = await openLocation(loc, config, role);
      await backend.ping();
      return backend;
    } catch (err) {
      throw new Error(`${role} ${describeLocation(loc)}: ${(err as Error).message}`);
    }
  };
  const source = await open(from, "source");
  const target = await open(to, "target");
  console.log(`copying objects from ${describeLocation(from)} to ${describeLocation(to)}, ${concurrency} at a time`);
  // Ctrl-C (or SIGTERM) aborts the puts in flight, which leave nothing behind, and prints the summary.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const summary = await copyObjects({ from: source, to: target, concurrency, signal: stop.signal });
  for (const line of summaryLines(summary)) console.log(line);
  // Exit now: the S3 client's idle keep-alive sockets would hold the process open for a while.
  process.exit(summary.failed || summary.interrupted ? 1 : 0);
}
