/**
 * s3rver in a process of its own (the soak's clients must not share an event loop with the store
 * they load): `bun bench/soak/s3rver-process.ts <dir> <bucket>` prints {"port":N} once listening
 * and serves until killed.
 */
import S3rver from "s3rver";

const [dir, bucket] = process.argv.slice(2);
if (!dir || !bucket) throw new Error("usage: s3rver-process.ts <dir> <bucket>");
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
