import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { createHarness, type Harness, sampleContent } from "../support/harness";
import { multipartBody } from "../support/multipart";
import { type RawResponse, rawRequest } from "../support/raw-http";

/**
 * What only exists on the wire, checked on a real socket in every run (`bun src/main.ts` for
 * `npm test`, the binary for `npm run test:binary`, S3 storage for `npm run test:s3`): every
 * download 200/206 (and HEAD) carries Content-Length equal to the bytes sent and is not chunked.
 */
let h: Harness;
let t: { id: string; apiKey: string };
let url: string;
let fileId: string;
const content = sampleContent("image/png", 3 * 1024 * 1024 + 77);

beforeAll(async () => {
  h = await createHarness({}, undefined, { realHttp: true });
  url = h.server!.url;
  t = await h.createTenant({ quotaBytes: 10 ** 9 });
  const r = await h.json("POST", "/api/v1/upload/request", {
    key: t.apiKey,
    body: { fileType: "image/png", fileName: "big.png", fileSizeBytes: content.byteLength },
  });
  const put = await h.json("PUT", r.body.presignedUrl, { key: t.apiKey, body: content });
  expect(put.body.processingStatus).toBe("completed");
  fileId = r.body.fileId;
}, 60_000);
afterAll(() => h.close());

const auth = () => ({ authorization: `Bearer ${t.apiKey}` });
const pathOf = (u: string) => u.replace("http://localhost:3000", "");

function expectFramed(res: RawResponse, status: number, bytes: Uint8Array) {
  expect(res.status).toBe(status);
  expect(res.chunked).toBe(false);
  expect(res.headers["transfer-encoding"]).toBeUndefined();
  expect(res.headers["content-length"]).toBe(String(bytes.byteLength));
  expect(res.body.byteLength).toBe(bytes.byteLength);
  expect(Buffer.from(res.body).equals(Buffer.from(bytes))).toBe(true);
}

describe("Content-Length on every download", () => {
  test("full 200, a 1 MiB range 206, and HEAD (Bearer key)", async () => {
    const path = `/api/v1/files/${fileId}/download`;
    expectFramed(await rawRequest(url, "GET", path, auth()), 200, content);
    const range = await rawRequest(url, "GET", path, { ...auth(), range: "bytes=1000-1049575" });
    expectFramed(range, 206, content.subarray(1000, 1049576));
    expect(range.headers["content-range"]).toBe(`bytes 1000-1049575/${content.byteLength}`);
    const head = await rawRequest(url, "HEAD", path, auth());
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe(String(content.byteLength));
    expect(head.body.byteLength).toBe(0);
    const headRange = await rawRequest(url, "HEAD", path, { ...auth(), range: "bytes=0-99" });
    expect(headRange.status).toBe(206);
    expect(headRange.headers["content-length"]).toBe("100");
  });

  test("signed URL and permanent URL", async () => {
    const signed = await h.json("GET", `/api/v1/files/${fileId}/signed-url?expiresIn=600`, { key: t.apiKey });
    expectFramed(await rawRequest(url, "GET", pathOf(signed.body.url)), 200, content);
    const ranged = await rawRequest(url, "GET", pathOf(signed.body.url), { range: "bytes=-2000000" });
    expectFramed(ranged, 206, content.subarray(content.byteLength - 2_000_000));
    const permanent = await h.json("GET", `/api/v1/files/${fileId}/permanent-url`, { key: t.apiKey });
    expectFramed(await rawRequest(url, "GET", pathOf(permanent.body.url)), 200, content);
  });

  test("storage module: an uploaded object's presigned download", async () => {
    const bytes = sampleContent("application/pdf", 1536 * 1024 + 5);
    const mp = multipartBody({}, { name: "report.pdf", type: "application/pdf", bytes });
    const up = await h.json("POST", "/api/v1/storage/upload?userId=u1&category=data_source", {
      key: t.apiKey,
      body: mp.body,
      headers: { "content-type": mp.contentType },
    });
    expect(up.status).toBe(200);
    const signed = await h.json("GET", `/api/v1/storage/objects/${up.body.name}/presigned-url?userId=u1`, {
      key: t.apiKey,
    });
    expect(signed.status).toBe(200);
    expectFramed(await rawRequest(url, "GET", pathOf(signed.body.url)), 200, bytes);
  });

  test("JSON answers carry a Content-Length too", async () => {
    const res = await rawRequest(url, "GET", `/api/v1/files/${fileId}`, auth());
    expect(res.status).toBe(200);
    expect(res.chunked).toBe(false);
    expect(res.headers["content-length"]).toBe(String(res.body.byteLength));
    expect(JSON.parse(Buffer.from(res.body).toString()).id).toBe(fileId);
  });
});

describe("ranges", () => {
  test("a suffix range longer than the file is the whole file: 206, not 416 (RFC 9110)", async () => {
    const res = await rawRequest(url, "GET", `/api/v1/files/${fileId}/download`, {
      ...auth(),
      range: "bytes=-99999999",
    });
    expectFramed(res, 206, content);
    expect(res.headers["content-range"]).toBe(`bytes 0-${content.byteLength - 1}/${content.byteLength}`);
    const tail = await rawRequest(url, "GET", `/api/v1/files/${fileId}/download`, { ...auth(), range: "bytes=-10" });
    expectFramed(tail, 206, content.subarray(content.byteLength - 10));
    const beyond = await rawRequest(url, "GET", `/api/v1/files/${fileId}/download`, {
      ...auth(),
      range: `bytes=${content.byteLength}-`,
    });
    expect(beyond.status).toBe(416);
  });
});

describe("caching headers", () => {
  test("Vary names Origin, never *; If-None-Match revalidates to 304", async () => {
    const path = `/api/v1/files/${fileId}/download`;
    const first = await rawRequest(url, "GET", path, auth());
    expect(first.status).toBe(200);
    expect(first.headers.vary).toBe("Origin");
    const etag = first.headers.etag!;
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    const again = await rawRequest(url, "GET", path, { ...auth(), "if-none-match": etag });
    expect(again.status).toBe(304);
    expect(again.body.byteLength).toBe(0);
    expect(again.headers.etag).toBe(etag);
    expect(again.headers.vary).toBe("Origin");
    for (const [method, p, headers] of [
      ["GET", `/api/v1/files/${fileId}`, auth()],
      ["GET", "/health", {}],
      ["GET", "/api/v1/files/not-a-uuid", auth()],
      ["OPTIONS", "/api/v1/files", { origin: "https://app.example", "access-control-request-method": "GET" }],
    ] as const) {
      const res = await rawRequest(url, method, p, headers);
      expect(`${method} ${p}: ${res.headers.vary}`).toBe(`${method} ${p}: Origin`);
    }
    const cross = await rawRequest(url, "GET", `/api/v1/files/${fileId}`, { ...auth(), origin: "https://app.example" });
    expect(cross.headers["access-control-allow-origin"]).toBe("https://app.example");
  });
});

describe("answers of one event-loop turn (written together at its end, src/http/node-server.ts)", () => {
  test("pipelined requests on one connection are answered in order, each with its own body", async () => {
    const { hostname, port } = new URL(url);
    const head = (path: string, extra: string) =>
      `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${t.apiKey}\r\n${extra}\r\n`;
    const raw = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect(Number(port), hostname, () =>
        socket.write(head(`/api/v1/files/${fileId}`, "") + head("/health", "Connection: close\r\n")),
      );
      socket.on("data", (c: Buffer) => chunks.push(c));
      socket.on("error", reject);
      socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    });
    const answers = raw.split(/(?=HTTP\/1\.1 )/);
    expect(answers.length).toBe(2);
    expect(answers[0]).toStartWith("HTTP/1.1 200");
    expect(answers[0]).toContain(`"id":"${fileId}"`);
    expect(answers[1]).toStartWith("HTTP/1.1 200");
    expect(answers[1]).toContain('"status":"ok"');
  });

  test("clients that leave before their answer cost the others of the turn nothing", async () => {
    const { hostname, port } = new URL(url);
    const gone = Array.from(
      { length: 5 },
      () =>
        new Promise<void>((resolve) => {
          const socket = connect(Number(port), hostname, () => {
            socket.write(
              `GET /api/v1/files/${fileId} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.apiKey}\r\n\r\n`,
            );
            socket.destroy();
            resolve();
          });
          socket.on("error", () => resolve());
        }),
    );
    const answered = Array.from({ length: 30 }, () =>
      fetch(`${url}/api/v1/files/${fileId}`, { headers: auth() }).then(async (r) => [
        r.status,
        ((await r.json()) as { id: string }).id,
      ]),
    );
    await Promise.all(gone);
    expect(await Promise.all(answered)).toEqual(answered.map(() => [200, fileId]));
    expect((await rawRequest(url, "GET", "/health")).status).toBe(200);
  });
});
