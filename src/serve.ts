import { createApp, createServices, withAccessLog } from "./app";
import type { Config } from "./config/schema";
import { MAX_FILE_SIZE_BYTES } from "./domain/files/file-types";
import { serveNode } from "./http/node-server";
import { withRequestMetrics } from "./http/request-metrics";
import { startJobs } from "./jobs";
import { createLogger, turnBatchedStdout } from "./logger";
import { openRuntime } from "./runtime";
import { VERSION } from "./version";

function printAdminKeyBanner(key: string) {
  const line = "=".repeat(72);
  process.stdout.write(
    `${line}\n  Storage Brain generated an admin API key. It is shown ONCE; store it now.\n\n  ADMIN_API_KEY=${key}\n\n  Only its SHA-256 hash is kept. Set ADMIN_API_KEY to use a key of your own.\n${line}\n`,
  );
}

/** `storage-brain serve`: bootstraps (first run included), starts the jobs and listens until SIGTERM/SIGINT. */
export async function serve(config: Config) {
  const stdout = turnBatchedStdout();
  const logger = createLogger(config.LOG_LEVEL, stdout.write);
  const t0 = performance.now();
  const rt = await openRuntime(config, logger, undefined, { generateAdminKey: true });
  stdout.flush(); // the banner comes after the start-up lines logged so far
  if (rt.generatedAdminKey) printAdminKeyBanner(rt.generatedAdminKey);
  const services = createServices(rt);
  const app = createApp(rt, services);
  const jobs = await startJobs(rt, services);
  // node:http, not Bun.serve: Bun.serve drops the Content-Length of streamed downloads (see
  // http/node-server.ts).
  const server = await serveNode({
    port: config.PORT,
    hostname: config.HOST,
    fetch: withRequestMetrics(withAccessLog(app.fetch, logger), rt.metrics),
    // Uploads stream; this only caps what is accepted at all (the largest file either upload path
    // takes, plus slack for headers/multipart). Each path checks its own limit.
    maxRequestBodySize: Math.max(MAX_FILE_SIZE_BYTES, config.TUS_MAX_SIZE) + 1024 * 1024,
    // Above the upload idle timeout, so a stalled upload body is dropped by our timer (which
    // returns its reservation and logs it), not silently by the socket.
    idleTimeoutSeconds: Math.max(120, Math.ceil(config.UPLOAD_IDLE_TIMEOUT_MS / 1000) + 10),
  });
  logger.info("listening", {
    url: `http://${server.hostname}:${server.port}`,
    port: server.port,
    backend: rt.objects.backend.name,
    dataDir: config.DATA_DIR,
    version: VERSION,
    startupMs: Math.round(performance.now() - t0),
    migrationsApplied: rt.migrationsApplied,
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    await server.stop(); // stop accepting, let in-flight requests finish
    await jobs.stop();
    await rt.close();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}
