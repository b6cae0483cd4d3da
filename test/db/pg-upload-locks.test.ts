import { afterAll, beforeAll, expect, test } from "bun:test";
import { openPgUploadLocks } from "../../src/db/pg/upload-locks";
import type { UploadLocks } from "../../src/domain/uploads/upload-locks";
import { createLogger } from "../../src/logger";
import { createTestPgDatabase, type TestPgDatabase } from "../support/pg";

// The tus upload locks two instances share on PostgreSQL (db/pg/upload-locks.ts): one holder per
// upload across instances; a newcomer that takes over asks the holder to stop and gets the lock
// once it lets go; an instance that dies (its session closes) frees its locks.

let db: TestPgDatabase;
let a: UploadLocks;
let b: UploadLocks;
beforeAll(async () => {
  db = await createTestPgDatabase();
  a = openPgUploadLocks(db.url, createLogger("error"));
  b = openPgUploadLocks(db.url, createLogger("error"));
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await db?.drop();
});

const signal = () => new AbortController().signal;

test("one holder per upload across instances; other uploads are independent", async () => {
  const release = await a.acquire("f1", { takeOver: false, waitMs: 0, signal: signal() });
  expect(release).not.toBeNull();
  expect(await b.acquire("f1", { takeOver: false, waitMs: 0, signal: signal() })).toBeNull();
  const other = await b.acquire("f2", { takeOver: false, waitMs: 0, signal: signal() });
  expect(other).not.toBeNull();
  await other?.();
  await release?.();
  const again = await b.acquire("f1", { takeOver: false, waitMs: 0, signal: signal() });
  expect(again).not.toBeNull();
  await again?.();
});

test("taking over asks the holder to stop (not the asker itself) and waits for it to let go", async () => {
  const asked: string[] = [];
  const askedOfB: string[] = [];
  const held = await a.acquire("f3", { takeOver: false, waitMs: 0, signal: signal() });
  let releaseA = held;
  a.onAbortRequest((id) => {
    asked.push(id);
    // The holder's request stops, records its offset, then lets go.
    setTimeout(() => void releaseA?.().then(() => (releaseA = null)), 100);
  });
  b.onAbortRequest((id) => askedOfB.push(id));
  await Bun.sleep(200); // LISTEN is set up asynchronously
  const t0 = Date.now();
  const got = await b.acquire("f3", { takeOver: true, waitMs: 5_000, signal: signal() });
  expect(got).not.toBeNull();
  expect(asked).toEqual(["f3"]);
  expect(askedOfB).toEqual([]);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
  await got?.();
});

test("a holder that never lets go: the newcomer gives up after waitMs", async () => {
  const held = await a.acquire("f4", { takeOver: false, waitMs: 0, signal: signal() });
  const t0 = Date.now();
  expect(await b.acquire("f4", { takeOver: true, waitMs: 300, signal: signal() })).toBeNull();
  expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
  await held?.();
});

test("an instance that dies frees its locks", async () => {
  const c = openPgUploadLocks(db.url, createLogger("error"));
  expect(await c.acquire("f5", { takeOver: false, waitMs: 0, signal: signal() })).not.toBeNull();
  expect(await b.acquire("f5", { takeOver: false, waitMs: 0, signal: signal() })).toBeNull();
  await c.close();
  const got = await b.acquire("f5", { takeOver: true, waitMs: 2_000, signal: signal() });
  expect(got).not.toBeNull();
  await got?.();
});
