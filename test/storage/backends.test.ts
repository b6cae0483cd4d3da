import { expect, test } from "bun:test";
import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
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

test("local list(prefix) walks only the prefix's directory: a symlink loop elsewhere doesn't hide its keys", async () => {
  const dir = tempDir();
  const backend = new LocalBackend(dir);
  await backend.init();
  const body = () => new Response(new Uint8Array(8)).body!;
  await backend.put("t/one/aa/k1", body());
  await backend.put("t/two/bb/k2", body());
  // Unrelated trouble elsewhere in the tree (Bun's recursive readdir follows links: ELOOP).
  mkdirSync(join(dir, "t", "two", "cc"), { recursive: true });
  symlinkSync("..", join(dir, "t", "two", "cc", "loop"));
  const listed: string[] = [];
  for await (const k of backend.list("t/one/")) listed.push(k);
  expect(listed).toEqual(["t/one/aa/k1"]);
  rmSync(dir, { recursive: true, force: true });
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
