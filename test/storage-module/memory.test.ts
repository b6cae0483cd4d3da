import { afterAll, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { tempDir } from "../support/harness";
import { productCommand, spawnServer } from "../support/spawn-server";

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ADMIN = "sk_admin_memory_test_key";
const MiB = 1024 * 1024;

/** Resident set (VmRSS) and its high-water mark (VmHWM) of a process, in MiB. */
function memory(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

/** A 100 MiB multipart body generated on the fly (the client holds 1 MiB at a time). */
function streamingMultipart(size: number) {
  const boundary = "----sbmemtest";
  const head = new TextEncoder().encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n`,
  );
  const tail = new TextEncoder().encode(`\r\n--${boundary}--\r\n`);
  const chunk = new Uint8Array(MiB).fill(0x41);
  chunk.set(new TextEncoder().encode("%PDF-1.7\n"));
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent === 0) c.enqueue(head);
      if (sent < size) {
        const n = Math.min(MiB, size - sent);
        c.enqueue(sent === 0 ? chunk.subarray(0, n) : new Uint8Array(n).fill(0x42));
        sent += n;
      } else {
        c.enqueue(tail);
        c.close();
      }
    },
  });
  return {
    body,
    contentType: `multipart/form-data; boundary=${boundary}`,
    length: head.byteLength + size + tail.byteLength,
  };
}

test("a 100 MiB multipart upload and download keep server RSS flat", async () => {
  const s = await spawnServer(productCommand("serve"), {
    env: { DATA_DIR: dir, ADMIN_API_KEY: ADMIN, LOG_LEVEL: "info" },
  });
  try {
    const t = (await (
      await fetch(`${s.url}/api/v1/admin/tenants`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "mem", quotaBytes: 10 ** 10 }),
      })
    ).json()) as { apiKey: string };
    const auth = { authorization: `Bearer ${t.apiKey}` };
    await fetch(`${s.url}/health`);
    const before = memory(s.proc.pid);
    const size = 100 * MiB;
    const mp = streamingMultipart(size);
    const up = await fetch(`${s.url}/api/v1/storage/upload?userId=u1&category=data_source`, {
      method: "POST",
      headers: { ...auth, "content-type": mp.contentType, "content-length": String(mp.length) },
      body: mp.body,
    });
    const obj = (await up.json()) as { size: number; fileId: string; processingStatus: string };
    expect(obj).toMatchObject({ size, processingStatus: "completed" });
    const afterUpload = memory(s.proc.pid);
    const dl = await fetch(`${s.url}/api/v1/files/${obj.fileId}/download`, { headers: auth });
    let n = 0;
    for await (const c of dl.body!) n += c.byteLength;
    expect(n).toBe(size);
    const after = memory(s.proc.pid);
    console.log(
      `server RSS MiB: idle ${before.rss.toFixed(0)}, peak during 100 MiB upload ${afterUpload.hwm.toFixed(0)}, peak after download ${after.hwm.toFixed(0)}`,
    );
    // Streaming measured +40..65 MiB on Bun.serve and +69..95 behind the node:http adapter (segment
    // buffers and garbage not yet collected; CI once failed the old bound of 85). A buffered copy
    // adds the whole 100 MiB on top of those same buffers (>= 140 MiB), so 110 still catches it.
    expect(after.hwm - before.hwm).toBeLessThan(110);
  } finally {
    await s.stop();
  }
});
