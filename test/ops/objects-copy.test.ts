import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { StorageBackend } from "../../src/storage/backend";
import { LocalBackend } from "../../src/storage/local.backend";
import { S3Backend } from "../../src/storage/s3.backend";
import { sampleContent, tempDir } from "../support/harness";
import { LIVE_ADMIN_KEY, type LiveServer, startLiveServer } from "../support/live-server";
import { type S3Peer, sharedS3 } from "../support/s3";
import { productCommand, runCommand } from "../support/spawn-server";

// A real deployment (the product serving on local disk) is moved to s3rver with the product's
// `objects copy` — the compiled binary under `npm run test:binary` — and then served from S3.

const root = tempDir("sb-objcopy-");
const dataDir = join(root, "data");
let s3: S3Peer;
const prefix = `objcopy-${Date.now()}/`;
const files = new Map<string, Uint8Array<ArrayBuffer>>(); // fileId → content
let apiKey = "";
let deletedId = "";

const cli = (...args: string[]) =>
  runCommand(productCommand(...args), {
    DATA_DIR: dataDir,
    STORAGE_BACKEND: "local",
    ADMIN_API_KEY: LIVE_ADMIN_KEY,
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
  });
const s3Url = (p = prefix) => `s3://${s3.bucket}/${p}?endpoint=${s3.endpoint}&path-style=true`;
const localObjects = () => new LocalBackend(join(dataDir, "objects"));
const bucket = () => new S3Backend({ client: s3.client(), bucket: s3.bucket, prefix });
const keys = async (b: StorageBackend) => {
  const out: string[] = [];
  for await (const k of b.list("t/")) out.push(k);
  return out.sort();
};
const bytesOf = async (b: StorageBackend, key: string) =>
  new Uint8Array(await new Response(await b.get(key)).arrayBuffer());
const summaryOf = (stdout: string) => {
  const m = /(\d+) objects — (\d+) copied .*?, (\d+) skipped .*?, (\d+) failed, (\d+) gone/.exec(stdout);
  if (!m) throw new Error(`no summary in:\n${stdout}`);
  const [objects, copied, skipped, failed, gone] = m.slice(1).map(Number);
  return { objects, copied, skipped, failed, gone };
};

beforeAll(async () => {
  s3 = await sharedS3();
  const a = await startLiveServer({ DATA_DIR: dataDir });
  try {
    const t = await a.createTenant(10 ** 9);
    apiKey = t.apiKey;
    // One segment, a segment edge, several segments; and one soft-deleted file (its object stays until purge).
    for (const size of [100, 70_000, 1024 * 1024 + 5, 2_500_000, 300_000]) {
      const content = sampleContent("image/png", size);
      content.set([size & 0xff, (size >> 8) & 0xff], 50);
      const r = await a.call("POST", "/api/v1/upload/request", {
        key: apiKey,
        body: { fileType: "image/png", fileName: "f.png", fileSizeBytes: size },
      });
      const put = await a.call("PUT", r.body.presignedUrl.replace(/^https?:\/\/[^/]+/, ""), { body: content });
      expect(put.body.processingStatus).toBe("completed");
      files.set(r.body.fileId, content);
    }
    deletedId = [...files.keys()].at(-1) as string;
    expect((await a.call("DELETE", `/api/v1/files/${deletedId}`, { key: apiKey })).status).toBe(200);
    // An unfinished resumable upload: 100 of 5000 bytes, kept in a staging blob.
    const tus = await a.call("POST", "/api/v1/uploads/tus", {
      key: apiKey,
      headers: {
        "tus-resumable": "1.0.0",
        "upload-length": "5000",
        "upload-metadata": `filename ${btoa("big.png")},filetype ${btoa("image/png")}`,
      },
    });
    expect(tus.status).toBe(201);
    const patch = await a.call("PATCH", new URL(tus.res.headers.get("location") as string, a.url).pathname, {
      key: apiKey,
      headers: { "tus-resumable": "1.0.0", "upload-offset": "0", "content-type": "application/offset+octet-stream" },
      body: sampleContent("image/png", 100),
    });
    expect(patch.status).toBe(204);
  } finally {
    await a.stop();
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("objects copy: local disk → S3", () => {
  test("copies every object byte for byte (not the tus staging blob); the server on S3 with the same database serves the same files", async () => {
    const source = await keys(localObjects());
    const staging = source.filter((k) => k.includes("/tus/"));
    expect(staging.length).toBe(1);
    const r = await cli("objects", "copy", "--to", s3Url());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`to ${s3Url()}`);
    expect(summaryOf(r.stdout)).toEqual({ objects: 5, copied: 5, skipped: 0, failed: 0, gone: 0 });
    expect(r.stdout).toContain("1 staging blob(s) of unfinished resumable uploads not copied");
    const target = bucket();
    expect(await keys(target)).toEqual(source.filter((k) => !k.includes("/tus/")));
    for (const k of await keys(target)) expect(await bytesOf(target, k)).toEqual(await bytesOf(localObjects(), k));

    const b: LiveServer = await startLiveServer({
      DATA_DIR: dataDir,
      STORAGE_BACKEND: "s3",
      ...Object.fromEntries(Object.entries(s3.settings(prefix)).map(([k, v]) => [k, String(v)])),
    });
    try {
      expect(b.logs().find((l) => l.msg === "listening")?.backend).toBe("s3");
      for (const [id, content] of files) {
        const res = await fetch(`${b.url}/api/v1/files/${id}/download`, {
          headers: { authorization: `Bearer ${apiKey}` },
        });
        if (id === deletedId) {
          expect(res.status).toBe(404);
          continue;
        }
        expect(res.status).toBe(200);
        expect(new Uint8Array(await res.arrayBuffer())).toEqual(content);
      }
      expect((await b.call("GET", "/ready")).status).toBe(200);
    } finally {
      await b.stop();
    }
  });

  test("a rerun after a partial copy copies only what is missing or of the wrong size", async () => {
    const target = bucket();
    const copied = await keys(target);
    expect(copied.length).toBe(5);
    // As an interrupted run leaves it: two objects never arrived, one was left short (a lenient
    // store may keep a cut single-request PUT).
    const sizes = await Promise.all(copied.map(async (k) => (await target.stat(k))?.size ?? 0));
    const short = copied[sizes.indexOf(Math.max(...sizes))] as string;
    const [gone1, gone2] = copied.filter((k) => k !== short);
    await target.delete(gone1 as string);
    await target.delete(gone2 as string);
    await target.put(short, new Response((await bytesOf(target, short)).subarray(0, 1_000_000)).body as ReadableStream);
    expect((await target.stat(short))?.size).toBe(1_000_000);
    const r = await cli("objects", "copy", "--to", s3Url(), "--concurrency", "2");
    expect(r.code).toBe(0);
    expect(summaryOf(r.stdout)).toEqual({ objects: 5, copied: 3, skipped: 2, failed: 0, gone: 0 });
    for (const k of copied) expect(await bytesOf(target, k)).toEqual(await bytesOf(localObjects(), k));
    const again = await cli("objects", "copy", "--to", s3Url());
    expect(summaryOf(again.stdout)).toEqual({ objects: 5, copied: 0, skipped: 5, failed: 0, gone: 0 });
  });

  test("back from S3 to a new directory (--from); an object that cannot be written fails the run (exit 1) and the rest is copied", async () => {
    const dir = join(root, "back");
    const copied = await keys(bucket());
    const blocked = copied[3] as string;
    mkdirSync(join(dir, ...blocked.split("/"), "in-the-way"), { recursive: true }); // a directory where the file goes
    const r = await cli("objects", "copy", "--from", s3Url(), "--to", `file:${dir}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`failed: ${blocked}:`);
    expect(summaryOf(r.stdout)).toEqual({ objects: 5, copied: 4, skipped: 0, failed: 1, gone: 0 });
    expect(r.stdout).toContain("run the same command again");
    const back = new LocalBackend(dir);
    for (const k of copied.filter((k) => k !== blocked))
      expect(await bytesOf(back, k)).toEqual(await bytesOf(bucket(), k));
  });

  test("an unreachable target stops before copying anything (exit 1)", async () => {
    const r = await cli("objects", "copy", "--to", "s3://nope/?endpoint=http://127.0.0.1:9&path-style=true");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("target s3://nope/");
  });

  const usage = [
    ["objects"],
    ["objects", "move", "--to", "file:/tmp/x"],
    ["objects", "copy"],
    ["objects", "copy", "--to", "ftp://host/x"],
    ["objects", "copy", "--to", "s3://bucket/no-slash"],
    ["objects", "copy", "--to", "s3://key:secret@bucket/"],
    ["objects", "copy", "--to", "s3://bucket/?colour=red"],
    ["objects", "copy", "--to", "file:/tmp/x", "--concurrency", "0.5"],
    ["objects", "copy", "--to", "file:/tmp/x", "--bogus"],
  ];
  for (const args of usage)
    test(`usage error, exit 2: ${args.join(" ")}`, async () => {
      const r = await cli(...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("Usage: storage-brain");
    });

  test("copying the source onto itself is refused (exit 2)", async () => {
    const r = await cli("objects", "copy", "--to", `file:${join(dataDir, "objects")}`);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("names the source itself");
  });
});
