import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import { parseConfig } from "../../src/config/load";
import { s3ClientConfig } from "../../src/storage/s3.backend";

/** A real S3-protocol server (s3rver) on 127.0.0.1 with one bucket, shared by a test process. */
export interface S3Peer {
  endpoint: string;
  bucket: string;
  settings(prefix: string): Record<string, unknown>;
  client(): S3Client;
  close(): Promise<void>;
}

let shared: Promise<S3Peer> | null = null;

export function sharedS3(): Promise<S3Peer> {
  shared ??= startS3();
  return shared;
}

export async function startS3(): Promise<S3Peer> {
  const dir = mkdtempSync(join(tmpdir(), "s3rver-"));
  const bucket = "storage-brain-test";
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    directory: dir,
    silent: true,
    configureBuckets: [{ name: bucket }],
  });
  const addr = await server.run();
  const endpoint = `http://127.0.0.1:${addr.port}`;
  const settings = (prefix: string) => ({
    STORAGE_BACKEND: "s3",
    S3_BUCKET: bucket,
    S3_ENDPOINT: endpoint,
    S3_FORCE_PATH_STYLE: true,
    S3_KEY_PREFIX: prefix,
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
  });
  return {
    endpoint,
    bucket,
    settings,
    client: () => new S3Client(s3ClientConfig(parseConfig(settings("")))),
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
