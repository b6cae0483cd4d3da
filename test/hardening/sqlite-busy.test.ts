import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { type LiveServer, startLiveServer } from "../support/live-server";

// SQLITE_BUSY: the server's database shared with another connection that holds a read transaction
// open for the whole run (a backup, a slow report) and briefly takes the write lock (a CLI command).
// 64 parallel uploads and deletes must all succeed or fail cleanly: never a 500.

let s: LiveServer;
let key: string;
beforeAll(async () => {
  s = await startLiveServer();
  key = (await s.createTenant(1024 * 1024 * 1024)).apiKey;
});
afterAll(() => s.close());

const SIZE = 2048;
const content = () => {
  const b = new Uint8Array(SIZE);
  b.set([0x25, 0x50, 0x44, 0x46, 0x2d]);
  return b;
};

async function uploadThenMaybeDelete(i: number): Promise<number[]> {
  const statuses: number[] = [];
  const r = await s.call("POST", "/api/v1/upload/request", {
    key,
    body: { fileType: "application/pdf", fileName: `busy-${i}.pdf`, fileSizeBytes: SIZE },
  });
  statuses.push(r.status);
  if (r.status !== 200) return statuses;
  const put = await s.call("PUT", r.body.presignedUrl, { body: content() });
  statuses.push(put.status);
  const list = await s.call("GET", "/api/v1/files?limit=5", { key });
  statuses.push(list.status);
  if (i % 2 === 0) statuses.push((await s.call("DELETE", `/api/v1/files/${r.body.fileId}`, { key })).status);
  return statuses;
}

test("64 parallel uploads and deletes beside a long read transaction and a held write lock: zero 500s", async () => {
  const reader = new Database(join(s.dir, "storage-brain.db"));
  const writer = new Database(join(s.dir, "storage-brain.db"));
  writer.exec("PRAGMA busy_timeout = 5000");
  // A reader that pins a snapshot for the whole run (WAL can't checkpoint past it).
  reader.exec("BEGIN");
  const before = reader.query("select count(*) as n from files").get() as { n: number };
  const storm = Promise.all(Array.from({ length: 64 }, (_, i) => uploadThenMaybeDelete(i)));
  await Bun.sleep(50);
  // Midway, another writer (a CLI command) takes the write lock for a moment: the server's writers
  // wait for it (busy_timeout) instead of failing.
  writer.exec("BEGIN IMMEDIATE");
  await Bun.sleep(300);
  writer.exec("COMMIT");
  const results = (await storm).flat();
  // The pinned snapshot still sees the world as it was when the run began.
  expect((reader.query("select count(*) as n from files").get() as { n: number }).n).toBe(before.n);
  reader.exec("COMMIT");
  reader.close();
  writer.close();

  expect(results.filter((st) => st >= 500)).toEqual([]);
  expect(results.every((st) => st === 200 || st === 204)).toBe(true);
  // The counters agree with what is stored: 32 files kept, nothing reserved.
  const q = (await s.call("GET", "/api/v1/tenant/quota", { key })).body;
  expect(q.usedBytes).toBe(32 * SIZE);
  expect(q.reservedBytes).toBe(0);
});
