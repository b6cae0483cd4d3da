import { afterAll, beforeAll, expect, test } from "bun:test";
import { closeSync, existsSync, openSync, readdirSync, rmSync, statfsSync, writeSync } from "node:fs";
import { join } from "node:path";
import { createHarness, type Harness, sampleContent } from "../support/harness";
import { mountSmallFs, type SmallFs } from "../support/small-fs";

// DATA_DIR (database and objects) on a real 8 MiB filesystem: a ballast file takes the space away
// and gives it back, so ENOSPC comes from the kernel, not from an injected error.
const fs: SmallFs | null = mountSmallFs(8);
if (!fs) console.warn("disk-full: skipped, this machine allows neither a tmpfs nor a loop mount (needs root)");

let h: Harness;
let key: string;
beforeAll(async () => {
  if (!fs) return;
  h = await createHarness({ DATA_DIR: fs.dir, STORAGE_BACKEND: "local" });
  key = (await h.createTenant({ quotaBytes: 50 * 1024 * 1024 })).apiKey;
});
afterAll(async () => {
  await h?.close();
  fs?.unmount();
});

const freeBytes = (dir: string) => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

/** Fills the filesystem until only `leave` bytes are free (or it is full). */
function ballast(name: string, leave: number): string {
  const path = join(fs!.dir, name);
  const fd = openSync(path, "w");
  const chunk = new Uint8Array(64 * 1024);
  try {
    for (let free = freeBytes(fs!.dir); free > leave; free = freeBytes(fs!.dir))
      writeSync(fd, chunk, 0, Math.min(chunk.length, free - leave));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd);
  }
  return path;
}

async function requestUpload(size: number) {
  const r = await h.json("POST", "/api/v1/upload/request", {
    key,
    body: { fileType: "image/png", fileName: "big.png", fileSizeBytes: size },
  });
  return r;
}

const quota = async () => (await h.json("GET", "/api/v1/tenant/quota", { key })).body;
const tmpFiles = () => readdirSync(join(fs!.dir, "objects/.tmp"));

test.skipIf(!fs)(
  "disk full: 507 INSUFFICIENT_STORAGE, nothing charged, no temp file; downloads work; uploads resume with space",
  async () => {
    // A file stored while there was room.
    const small = sampleContent("image/png", 20_000);
    const a = await requestUpload(small.length);
    expect((await h.json("PUT", a.body.presignedUrl, { key, body: small })).body.processingStatus).toBe("completed");

    // Leave 256 KiB: enough for the database's small writes, not for a 1 MiB object.
    const weight = ballast("ballast", 256 * 1024);
    const bigContent = sampleContent("image/png", 1024 * 1024);
    const b = await requestUpload(bigContent.length);
    expect(b.status).toBe(200);
    const before = await quota();
    expect(before.reservedBytes).toBe(bigContent.length);

    const put = await h.json("PUT", b.body.presignedUrl, { key, body: bigContent });
    expect(put.status).toBe(507);
    expect(put.body.error.code).toBe("INSUFFICIENT_STORAGE");
    // Nothing charged, nothing held, nothing half-written; the upload stays open for a retry.
    const after = await quota();
    expect(after.usedBytes).toBe(small.length);
    expect(after.reservedBytes).toBe(0);
    expect(tmpFiles()).toEqual([]);
    expect((await h.rt.repos.files.byId(b.body.fileId))!.processingStatus).toBe("pending");
    expect(existsSync(join(fs!.dir, "objects", (await h.rt.repos.files.byId(b.body.fileId))!.storageKey))).toBe(false);

    // Reads need no space: the stored file downloads intact.
    const dl = await h.req("GET", `/api/v1/files/${a.body.fileId}/download`, { key });
    expect(dl.status).toBe(200);
    expect(new Uint8Array(await dl.arrayBuffer())).toEqual(small);

    // Completely full: whatever fails (the database's own writes included) is a 507, never a 500.
    const rest = ballast("ballast-2", 0);
    const c = await requestUpload(1000);
    expect([200, 507]).toContain(c.status);
    if (c.status === 507) expect(c.body.error.code).toBe("INSUFFICIENT_STORAGE");
    const again = await h.json("PUT", b.body.presignedUrl, { key, body: bigContent });
    expect(again.status).toBe(507);
    expect(tmpFiles()).toEqual([]);

    // Space returns: the same upload URL now works and the bytes round-trip.
    rmSync(rest);
    rmSync(weight);
    const retry = await h.json("PUT", b.body.presignedUrl, { key, body: bigContent });
    expect(retry.status).toBe(200);
    expect(retry.body.processingStatus).toBe("completed");
    const dl2 = await h.req("GET", `/api/v1/files/${b.body.fileId}/download`, { key });
    expect(new Uint8Array(await dl2.arrayBuffer())).toEqual(bigContent);
    const final = await quota();
    expect(final.usedBytes).toBe(small.length + bigContent.length);
    expect(final.reservedBytes).toBe(c.status === 200 ? 1000 : 0);
  },
);

test("the error table in /docs lists INSUFFICIENT_STORAGE as 507", async () => {
  const doc = (await createHarness().then(async (d) => {
    try {
      return (await d.json("GET", "/docs/json")).body;
    } finally {
      d.close();
    }
  })) as { info: { description: string }; components: { schemas: { Error: any } } };
  expect(doc.info.description).toContain("| `INSUFFICIENT_STORAGE` | 507 |");
  expect(doc.components.schemas.Error.properties.error.properties.code.enum).toContain("INSUFFICIENT_STORAGE");
});
