/**
 * s3rver in a process of its own (the soak's clients must not share an event loop with the store
 * they load): `node bench/soak/s3rver-process.mjs <dir> <bucket>` prints {"port":N} once listening
 * and serves until killed. Plain JavaScript so that it runs under Node, s3rver's own runtime
 * (server.ts falls back to Bun where Node is missing). A fault inside the peer is written to
 * stderr as one `s3rver-fault` JSON line, so a soak failure can be told apart from a failure of
 * the store it runs against.
 */
import S3rver from "s3rver";

const [dir, bucket] = process.argv.slice(2);
if (!dir || !bucket) throw new Error("usage: s3rver-process.mjs <dir> <bucket>");
const fault = (kind) => (err) =>
  process.stderr.write(
    `${JSON.stringify({ "s3rver-fault": kind, time: new Date().toISOString(), err: String(err?.stack ?? err) })}\n`,
  );
process.on("uncaughtException", fault("uncaughtException"));
process.on("unhandledRejection", fault("unhandledRejection"));
const server = new S3rver({
  port: 0,
  address: "127.0.0.1",
  directory: dir,
  silent: true,
  configureBuckets: [{ name: bucket }],
});
const addr = await server.run();
console.log(JSON.stringify({ port: addr.port }));
process.on("SIGTERM", () => void server.close().then(() => process.exit(0)));
