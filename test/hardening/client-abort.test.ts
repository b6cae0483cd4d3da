import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { eventually, type LiveServer, startLiveServer } from "../support/live-server";
import { multipartBody } from "../support/multipart";

// A client that goes away in the middle of its body is ordinary traffic, not a server failure:
// one warn line naming the file and how far it got, no error line, nothing held afterwards.
let s: LiveServer;
let key: string;
beforeAll(async () => {
  s = await startLiveServer();
  key = (await s.createTenant()).apiKey;
});
afterAll(() => s.close());

/** Sends the head and the first `sent` body bytes of a request on a raw socket, then drops it. */
async function sendAndDrop(head: string, body: Uint8Array, sent: number, how: "end" | "reset") {
  const sock = connect(s.port, "127.0.0.1");
  sock.on("error", () => {});
  await new Promise((r) => sock.once("connect", r));
  sock.write(head);
  await new Promise<void>((r) => sock.write(body.subarray(0, sent), () => r()));
  await Bun.sleep(100); // let the server read what was sent
  if (how === "reset") sock.resetAndDestroy();
  else sock.destroy();
}

const head = (method: string, path: string, length: number, extra = "") =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nContent-Length: ${length}\r\n${extra}\r\n`;

for (const how of ["end", "reset"] as const) {
  test(`a PUT dropped mid-body (${how}) is logged once as a client abort with the file id and bytes received`, async () => {
    const size = 4 * 1024 * 1024;
    const r = await s.call("POST", "/api/v1/upload/request", {
      key,
      body: { fileType: "application/pdf", fileName: "cut.pdf", fileSizeBytes: size },
    });
    const fileId = r.body.fileId as string;
    const from = s.logs().length;
    await sendAndDrop(head("PUT", r.body.presignedUrl, size), new Uint8Array(size), 1024 * 1024, how);

    const lines = await eventually(() => {
      const l = s.logs().slice(from);
      return l.some((x) => x.msg === "request" && String(x.path).includes(fileId)) && l;
    });
    const aborts = lines.filter((l) => l.msg === "upload aborted by client");
    expect(aborts.length).toBe(1);
    expect(["warn", "info"]).toContain(aborts[0]!.level);
    expect(aborts[0]!.fileId).toBe(fileId);
    expect(aborts[0]!.bytesReceived).toBeGreaterThan(0);
    expect(aborts[0]!.bytesReceived).toBeLessThanOrEqual(1024 * 1024);
    expect(lines.filter((l) => l.level === "error")).toEqual([]);

    // Nothing held: no reservation, the upload is still open, and the same URL then works.
    const q = await s.call("GET", "/api/v1/tenant/quota", { key });
    expect(q.body.reservedBytes).toBe(0);
    const body = new Uint8Array(size);
    body.set([0x25, 0x50, 0x44, 0x46, 0x2d]);
    const put = await s.call("PUT", r.body.presignedUrl, { body });
    expect(put.status).toBe(200);
    expect(put.body.processingStatus).toBe("completed");
    await s.call("DELETE", `/api/v1/files/${fileId}`, { key });
  });
}

test("a storage-module multipart upload dropped mid-body is a client abort too", async () => {
  const file = new Uint8Array(2 * 1024 * 1024);
  file.set([0x25, 0x50, 0x44, 0x46, 0x2d]);
  const form = multipartBody({}, { name: "cut.pdf", type: "application/pdf", bytes: file });
  const from = s.logs().length;
  await sendAndDrop(
    head(
      "POST",
      "/api/v1/storage/upload",
      form.body.length,
      `Authorization: Bearer ${key}\r\nContent-Type: ${form.contentType}\r\n`,
    ),
    form.body,
    1024 * 1024,
    "end",
  );
  const lines = await eventually(() => {
    const l = s.logs().slice(from);
    return l.some((x) => x.msg === "request" && x.path === "/api/v1/storage/upload") && l;
  });
  const aborts = lines.filter((l) => l.msg === "upload aborted by client");
  expect(aborts.length).toBe(1);
  expect(typeof aborts[0]!.fileId).toBe("string");
  expect(lines.filter((l) => l.level === "error")).toEqual([]);
  const q = await s.call("GET", "/api/v1/tenant/quota", { key });
  expect(q.body.reservedBytes).toBe(0);
});

test("a tus PATCH dropped mid-body logs no error; what arrived is kept and the upload resumes", async () => {
  const size = 2 * 1024 * 1024;
  const created = await fetch(`${s.url}/api/v1/uploads/tus/`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "tus-resumable": "1.0.0",
      "upload-length": String(size),
      "upload-metadata": `filename ${btoa("cut.pdf")},filetype ${btoa("application/pdf")}`,
    },
  });
  expect(created.status).toBe(201);
  const path = new URL(created.headers.get("location")!, s.url).pathname;
  const fileId = path.split("/").pop()!;
  const body = new Uint8Array(size);
  body.set([0x25, 0x50, 0x44, 0x46, 0x2d]);
  const from = s.logs().length;
  await sendAndDrop(
    head(
      "PATCH",
      path,
      size,
      `Authorization: Bearer ${key}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n`,
    ),
    body,
    1024 * 1024,
    "end",
  );
  const lines = await eventually(() => {
    const l = s.logs().slice(from);
    return l.some((x) => x.msg === "request" && x.path === path) && l;
  });
  // tus treats a cut PATCH as a short one (the bytes that arrived are kept): no abort, no error.
  expect(lines.filter((l) => l.level === "error")).toEqual([]);
  // Resume from wherever the server says it got to.
  const headRes = await fetch(`${s.url}${path}`, {
    method: "HEAD",
    headers: { authorization: `Bearer ${key}`, "tus-resumable": "1.0.0" },
  });
  const offset = Number(headRes.headers.get("upload-offset"));
  const rest = await fetch(`${s.url}${path}`, {
    method: "PATCH",
    headers: {
      authorization: `Bearer ${key}`,
      "tus-resumable": "1.0.0",
      "upload-offset": String(offset),
      "content-type": "application/offset+octet-stream",
    },
    body: body.subarray(offset),
  });
  expect(rest.status).toBe(204);
  const f = await s.call("GET", `/api/v1/files/${fileId}`, { key });
  expect(f.body.processingStatus).toBe("completed");
});
