import { rmSync } from "node:fs";
import { LocalBackend } from "../../src/storage/local.backend";
import { S3Backend } from "../../src/storage/s3.backend";
import { tempDir } from "../support/harness";
import { startS3 } from "../support/s3";
import { backendContract } from "./backend.contract";

backendContract("local", async () => {
  const dir = tempDir();
  const backend = new LocalBackend(dir);
  await backend.init();
  return { backend, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
});

backendContract("s3", async () => {
  const s3 = await startS3();
  const backend = new S3Backend({
    client: s3.client(),
    bucket: s3.bucket,
    prefix: "contract/",
    partSize: 5 * 1024 * 1024,
  });
  return { backend, cleanup: () => s3.close() };
});
