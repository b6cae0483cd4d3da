import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { type FaultProxy, startFaultProxy } from "../support/fault-proxy";
import { eventually, type LiveServer, startLiveServer } from "../support/live-server";

// A spawned server behind a TCP fault proxy (client ↔ proxy ↔ server). Each interrupted upload must
// leave no completed row, no object and no reservation; each interrupted download must release its
// server-side resources (fd count back to baseline); and the next request must work.

let s: LiveServer;
let proxy: FaultProxy;
let key: string;
const IDLE_MS = 1500;
beforeAll(async () => {
  // One upload at a time per tenant, so the stalled PUT's slot is observable.
  s = await startLiveServer({ UPLOAD_IDLE_TIMEOUT_MS: String(IDLE_MS), MAX_CONCURRENT_UPLOADS_PER_TENANT: "1" });
  proxy = await startFaultProxy({ port: s.port });
  key = (await s.createTenant()).apiKey;
});
afterAll(async () => {
  await proxy.close();
  await s.close();
});

const MiB = 1024 * 1024;
const pdf = (size: number): Uint8Array<ArrayBuffer> => {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + 3) & 0xff;
  b.set([0x25, 0x50, 0x44, 0x46, 0x2d]);
  return b;
};
// No keep-alive through the proxy: every request is its own connection, so fd counts settle.
const close = { connection: "close" };

async function requestUpload(size: number) {
  const r = await s.call("POST", "/api/v1/upload/request", {
    key,
    body: { fileType: "application/pdf", fileName: "f.pdf", fileSizeBytes: size },
  });
  expect(r.status).toBe(200);
  return r.body as { fileId: string; presignedUrl: string };
}

/** The upload left nothing behind: not completed, no object or temp file, no reservation. */
async function expectNothingLeft(fileId: string, othersReserved = 0) {
  await eventually(
    async () => (await s.call("GET", "/api/v1/tenant/quota", { key })).body.reservedBytes === othersReserved,
  );
  const f = await s.call("GET", `/api/v1/files/${fileId}`, { key });
  expect(f.body.processingStatus).not.toBe("completed");
  const objects = join(s.dir, "objects");
  expect(readdirSync(join(objects, ".tmp"))).toEqual([]);
  const tenantDirs = existsSync(join(objects, "t")) ? readdirSync(join(objects, "t"), { recursive: true }) : [];
  expect(tenantDirs.map(String).filter((p) => p.endsWith(fileId))).toEqual([]);
}

/** PUTs through the proxy; a broken connection is expected, so errors are swallowed. */
async function putThroughProxy(url: string, body: Uint8Array) {
  return fetch(`${proxy.url}${url}`, { method: "PUT", body, headers: close })
    .then((r) => r.status)
    .catch(() => null);
}

async function uploadDirect(up: { presignedUrl: string }, body: Uint8Array) {
  const r = await s.call("PUT", up.presignedUrl, { body });
  expect(r.status).toBe(200);
  expect(r.body.processingStatus).toBe("completed");
}

describe("uploads through the fault proxy", () => {
  for (const kind of ["cut", "rst"] as const) {
    test(`${kind} after 1 MiB of a 4 MiB PUT: nothing completed, stored or reserved; the retry works`, async () => {
      const body = pdf(4 * MiB);
      const up = await requestUpload(body.length);
      proxy.setFault({ kind, direction: "up", afterBytes: MiB });
      expect(await putThroughProxy(up.presignedUrl, body)).not.toBe(200);
      proxy.setFault({ kind: "none" });
      await expectNothingLeft(up.fileId);
      await uploadDirect(up, body);
    });
  }

  test("a PUT that stalls longer than UPLOAD_IDLE_TIMEOUT_MS is dropped, its slot and reservation freed", async () => {
    const body = pdf(2 * MiB);
    const up = await requestUpload(body.length);
    const from = s.logs().length;
    proxy.setFault({ kind: "stall", direction: "up", afterBytes: 512 * 1024 });
    const other = await requestUpload(1000);
    const put = putThroughProxy(up.presignedUrl, body);
    await eventually(
      async () => {
        const st = (await s.call("GET", `/api/v1/files/${up.fileId}`, { key })).body;
        return st.processingStatus === "processing";
      },
      5000,
      "the stalled PUT to be in progress",
    );
    // While it stalls it holds the tenant's only upload slot...
    const blocked = await s.call("PUT", other.presignedUrl, { body: pdf(1000) });
    const droppedMeanwhile = s
      .logs()
      .slice(from)
      .some((l) => l.msg === "upload aborted by client");
    if (!droppedMeanwhile) expect(blocked.status).toBe(429);
    // The client is still connected (the proxy holds its socket open); the server gives up on it.
    const line = await eventually(
      () =>
        s
          .logs()
          .slice(from)
          .find((l) => l.msg === "upload aborted by client" && l.fileId === up.fileId),
      IDLE_MS * 10,
      "the stalled upload to be dropped",
    );
    expect(String(line.reason)).toContain(`No data from the client for ${IDLE_MS} ms`);
    expect(line.bytesReceived).toBeLessThanOrEqual(512 * 1024);
    expect(
      s
        .logs()
        .slice(from)
        .filter((l) => l.level === "error"),
    ).toEqual([]);
    await expectNothingLeft(up.fileId, 1000); // what `other` holds, nothing more
    await proxy.close(); // lets the stalled client go
    proxy = await startFaultProxy({ port: s.port });
    await put;
    // ...and gives it back when dropped: both uploads now go through.
    await uploadDirect(other, pdf(1000));
    await uploadDirect(up, body);
  });

  test("a bandwidth-capped PUT (slow but steady) completes with the exact bytes", async () => {
    const body = pdf(MiB);
    const up = await requestUpload(body.length);
    proxy.setFault({ kind: "none", bytesPerSecond: 1024 * 1024 });
    const status = await putThroughProxy(up.presignedUrl, body);
    proxy.setFault({ kind: "none" });
    expect(status).toBe(200);
    const again = await fetch(`${s.url}/api/v1/files/${up.fileId}/download`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(body);
  });
});

describe("downloads through the fault proxy", () => {
  let fileId: string;
  let body: Uint8Array<ArrayBuffer>;
  beforeAll(async () => {
    body = pdf(8 * MiB);
    const up = await requestUpload(body.length);
    await uploadDirect(up, body);
    fileId = up.fileId;
  });

  const download = (base: string) =>
    fetch(`${base}/api/v1/files/${fileId}/download`, { headers: { authorization: `Bearer ${key}`, ...close } });

  for (const kind of ["cut", "rst", "stall"] as const) {
    test(`${kind} after 1 MiB of an 8 MiB download: the server lets go of it; the next download is whole`, async () => {
      // Baseline with the server idle after a complete download.
      expect((await (await download(s.url)).arrayBuffer()).byteLength).toBe(body.length);
      await Bun.sleep(200);
      const baseline = s.fdCount();
      proxy.setFault({ kind, direction: "down", afterBytes: MiB });
      const got = await download(proxy.url)
        .then(async (r) => {
          if (kind === "stall") {
            // The client stops getting bytes; then it gives up (the proxy closes its sockets).
            const reader = r.body!.getReader();
            await reader.read();
            const stalled = proxy; // this proxy, not the one that replaces it below
            setTimeout(() => stalled.close(), 500);
            for (;;) if ((await reader.read()).done) return "ended";
          }
          return (await r.arrayBuffer()).byteLength;
        })
        .catch(() => "error");
      expect(got as unknown).not.toBe(body.length); // never reported as a complete download
      if (kind === "stall") proxy = await startFaultProxy({ port: s.port });
      proxy.setFault({ kind: "none" });
      await eventually(() => s.fdCount() <= baseline, 10_000, `fd count back to ${baseline}`);
      const next = new Uint8Array(await (await download(s.url)).arrayBuffer());
      expect(next).toEqual(body);
    });
  }
});
