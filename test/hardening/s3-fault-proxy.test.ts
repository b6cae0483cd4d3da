import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { type FaultProxy, startFaultProxy } from "../support/fault-proxy";
import { eventually, type LiveServer, startLiveServer } from "../support/live-server";
import { type S3Peer, startS3 } from "../support/s3";

// The fault proxy between a spawned server and its S3 peer (s3rver): server ↔ proxy ↔ S3. A
// connection to the store cut or reset mid-transfer must leave no completed row, no object and no
// reservation (uploads), must end the client's download as failed, never as complete, and must
// release the socket (downloads); once the store behaves again, the next request works.

let peer: S3Peer;
let proxy: FaultProxy;
let s: LiveServer;
let key: string;
const PREFIX = `faults-${Date.now()}/`;
const MiB = 1024 * 1024;

beforeAll(async () => {
  peer = await startS3();
  proxy = await startFaultProxy({ port: Number(new URL(peer.endpoint).port) });
  const settings = peer.settings(PREFIX) as Record<string, string | boolean>;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(settings)) env[k] = String(v);
  s = await startLiveServer({ ...env, S3_ENDPOINT: proxy.url });
  key = (await s.createTenant()).apiKey;
});
afterAll(async () => {
  await s?.close();
  await proxy?.close();
  await peer?.close();
});

const pdf = (size: number): Uint8Array<ArrayBuffer> => {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 11 + 1) & 0xff;
  b.set([0x25, 0x50, 0x44, 0x46, 0x2d]);
  return b;
};

async function requestUpload(size: number) {
  const r = await s.call("POST", "/api/v1/upload/request", {
    key,
    body: { fileType: "application/pdf", fileName: "s3.pdf", fileSizeBytes: size },
  });
  expect(r.status).toBe(200);
  return r.body as { fileId: string; presignedUrl: string };
}

async function objectsInBucket(): Promise<string[]> {
  const out = await peer.client().send(new ListObjectsV2Command({ Bucket: peer.bucket, Prefix: PREFIX }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

describe("uploads with the store connection failing", () => {
  for (const kind of ["cut", "rst"] as const) {
    test(`${kind} after 256 KiB towards S3: 503, nothing completed, stored or reserved; then it works`, async () => {
      const body = pdf(2 * MiB);
      const up = await requestUpload(body.length);
      const before = await objectsInBucket();
      proxy.setFault({ kind, direction: "up", afterBytes: 256 * 1024 });
      const put = await s.call("PUT", up.presignedUrl, { body });
      proxy.setFault({ kind: "none" });
      expect(put.status).toBe(503);
      expect(put.body.error.code).toBe("STORAGE_UNAVAILABLE");
      const q = await s.call("GET", "/api/v1/tenant/quota", { key });
      expect(q.body.reservedBytes).toBe(0);
      expect((await s.call("GET", `/api/v1/files/${up.fileId}`, { key })).body.processingStatus).toBe("pending");
      expect((await objectsInBucket()).filter((k) => k.endsWith(up.fileId))).toEqual([]);
      expect((await objectsInBucket()).length).toBe(before.length);
      expect(s.logs().filter((l) => l.level === "error" && String(l.err ?? "").includes("TypeError"))).toEqual([]);
      // The 503's log line names what the store connection did, not only "upload failed".
      const failed = s.logs().filter((l) => l.msg === "request failed" && String(l.path ?? "").includes(up.fileId));
      expect(failed.length).toBe(1);
      expect(String(failed[0]?.cause ?? "")).not.toBe("");
      // The store is back: the same URL completes.
      const again = await s.call("PUT", up.presignedUrl, { body });
      expect(again.status).toBe(200);
      expect(again.body.processingStatus).toBe("completed");
    });
  }
});

describe("downloads with the store connection failing", () => {
  let fileId: string;
  let body: Uint8Array<ArrayBuffer>;
  beforeAll(async () => {
    body = pdf(8 * MiB);
    const up = await requestUpload(body.length);
    const put = await s.call("PUT", up.presignedUrl, { body });
    expect(put.status).toBe(200);
    fileId = up.fileId;
  });
  const download = () =>
    fetch(`${s.url}/api/v1/files/${fileId}/download`, { headers: { authorization: `Bearer ${key}` } });

  for (const kind of ["cut", "rst"] as const) {
    test(`${kind} after 1 MiB from S3 mid-download: the client never sees a complete body; sockets released`, async () => {
      expect((await (await download()).arrayBuffer()).byteLength).toBe(body.length);
      await Bun.sleep(200);
      const baseline = s.fdCount();
      proxy.setFault({ kind, direction: "down", afterBytes: MiB });
      const got = await download()
        .then(async (r) => (r.status === 200 ? (await r.arrayBuffer()).byteLength : `status ${r.status}`))
        .catch(() => "aborted");
      proxy.setFault({ kind: "none" });
      expect(got as unknown).not.toBe(body.length);
      await eventually(() => s.fdCount() <= baseline, 15_000, `fd count back to ${baseline}`);
      expect(new Uint8Array(await (await download()).arrayBuffer())).toEqual(body);
    });
  }
});
