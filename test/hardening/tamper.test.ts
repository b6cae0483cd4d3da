import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { eventually, type LiveServer, startLiveServer } from "../support/live-server";

// Encrypted objects are authenticated segment by segment. A flipped bit on disk — in the first
// segment, a later one, or in the wrapped data key — must never reach a client as bytes: the
// download fails with a clear integrity error (before headers when it can; by aborting the
// connection when a 200 is already streaming), and the log names the file.

let s: LiveServer;
let key: string;
beforeAll(async () => {
  s = await startLiveServer();
  key = (await s.createTenant()).apiKey;
});
afterAll(() => s.close());

const MiB = 1024 * 1024;
const SIZE = 3 * MiB + 100; // four 1 MiB segments

async function upload(): Promise<{ fileId: string; content: Uint8Array }> {
  const content = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) content[i] = (i * 13 + 5) & 0xff;
  content.set([0x25, 0x50, 0x44, 0x46, 0x2d]);
  const r = await s.call("POST", "/api/v1/upload/request", {
    key,
    body: { fileType: "application/pdf", fileName: "t.pdf", fileSizeBytes: SIZE },
  });
  const put = await s.call("PUT", r.body.presignedUrl, { body: content });
  expect(put.body.processingStatus).toBe("completed");
  return { fileId: r.body.fileId, content };
}

function row(fileId: string) {
  const db = new Database(join(s.dir, "storage-brain.db"));
  try {
    return db.query("select storage_key, wrapped_key from files where id = ?").get(fileId) as {
      storage_key: string;
      wrapped_key: string;
    };
  } finally {
    db.close();
  }
}

/** Flips one bit of the stored object at `offset`. */
function flipStoredByte(fileId: string, offset: number) {
  const path = join(s.dir, "objects", ...row(fileId).storage_key.split("/"));
  const fd = openSync(path, "r+");
  const b = new Uint8Array(1);
  readSync(fd, b, 0, 1, offset);
  b[0]! ^= 0x01;
  writeSync(fd, b, 0, 1, offset);
  closeSync(fd);
}

const download = (fileId: string) =>
  fetch(`${s.url}/api/v1/files/${fileId}/download`, { headers: { authorization: `Bearer ${key}` } });

async function expectIntegrityLogged(fileId: string, from: number) {
  const line = await eventually(() =>
    s
      .logs()
      .slice(from)
      .find((l) => l.msg === "stored object failed its integrity check" && l.fileId === fileId),
  );
  expect(line.level).toBe("error");
}

test("tampered first segment: 500 with an integrity error before any byte, logged with the file id", async () => {
  const { fileId } = await upload();
  flipStoredByte(fileId, 100);
  const from = s.logs().length;
  const res = await download(fileId);
  expect(res.status).toBe(500);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe("INTERNAL_ERROR");
  expect(body.error.message).toContain("integrity");
  await expectIntegrityLogged(fileId, from);
});

test("tampered wrapped key: the same clear integrity error, never bytes", async () => {
  const { fileId } = await upload();
  const db = new Database(join(s.dir, "storage-brain.db"));
  const wrapped = row(fileId).wrapped_key;
  const bytes = Buffer.from(wrapped, "base64");
  bytes[bytes.length - 1]! ^= 0x01;
  db.query("update files set wrapped_key = ? where id = ?").run(bytes.toString("base64"), fileId);
  db.close();
  const from = s.logs().length;
  const res = await download(fileId);
  expect(res.status).toBe(500);
  expect(((await res.json()) as { error: { message: string } }).error.message).toContain("integrity");
  await expectIntegrityLogged(fileId, from);
});

test("tampered later segment: the 200 already streaming is aborted, not completed; no garbage bytes", async () => {
  const { fileId, content } = await upload();
  flipStoredByte(fileId, 2 * (MiB + 16) + 500); // inside the third segment
  const from = s.logs().length;
  const res = await download(fileId);
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const got: Uint8Array[] = [];
  let outcome: "complete" | "aborted" = "complete";
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      got.push(r.value);
    }
  } catch {
    outcome = "aborted";
  }
  expect(outcome).toBe("aborted");
  // What arrived is a correct prefix: the first two segments at most, never the tampered one.
  const received = Buffer.concat(got);
  expect(received.length).toBeLessThanOrEqual(2 * MiB);
  expect(received.equals(Buffer.from(content.subarray(0, received.length)))).toBe(true);
  await expectIntegrityLogged(fileId, from);
});
