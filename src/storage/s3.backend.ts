import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import type { Config } from "../config/schema";
import { assertSafeKey, type ByteRange, type StorageBackend, type StoredPart } from "./backend";
import { StorageUnavailableError } from "./errors";
import { GcPacer } from "./gc-pacer";
import { iteratorToStream, sliceStream } from "./streams";

/**
 * The S3 path makes more garbage per byte than local disk (part buffers, HTTP copies, small
 * socket chunks). Measured with bench/s3.ts on 100 MiB: without pacing here, peak RSS ~236 MiB
 * (and rising with size) during uploads and ~300 MiB during downloads; with a collection per
 * part and per 32 MiB read, uploads plateau at ~170 MiB whatever the size (10 MiB: 124, 50: 169,
 * 100: 170). docs/decisions.md ("Paced garbage collection") has the local-disk numbers.
 */
const partGc = new GcPacer(8 * 1024 * 1024);
const readGc = new GcPacer(32 * 1024 * 1024);

/** The one method of S3Client this backend uses, so tests can wrap or fault-inject it. */
export interface S3Sender {
  send: S3Client["send"];
}

export interface S3BackendOptions {
  client: S3Sender;
  bucket: string;
  /** Prepended to every key ("" or e.g. "instance-a/"), so one bucket can serve several instances. */
  prefix?: string;
  /** Multipart part size; memory per upload is about (queueSize + 1) × partSize. */
  partSize?: number;
  queueSize?: number;
}

const isMissing = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
};

const isAbort = (err: unknown) => (err as { name?: string })?.name === "AbortError";

/** Wraps anything that isn't "missing" or our own abort as StorageUnavailableError. */
function unavailable(op: string, err: unknown): Error {
  if (isAbort(err)) return err as Error;
  const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return new StorageUnavailableError(`Object storage ${op} failed${status ? ` (HTTP ${status})` : ""}`, { cause: err });
}

/**
 * Objects in an S3-compatible bucket (AWS S3, MinIO, R2, Garage...). Uploads stream through
 * multipart with bounded part buffers; a failed or aborted upload aborts the multipart upload, so
 * no half object remains. Reads are ranged GETs whose body is cancelled when the consumer stops,
 * which releases the socket (a reader that stops early must not pin one of the pool's few sockets).
 */
export class S3Backend implements StorageBackend {
  readonly name = "s3";
  readonly minPartSize = 5 * 1024 * 1024;
  readonly maxParts = 10_000;
  private readonly prefix: string;
  private readonly partSize: number;

  constructor(private readonly opts: S3BackendOptions) {
    this.prefix = opts.prefix ?? "";
    this.partSize = opts.partSize ?? 8 * 1024 * 1024;
  }

  private k(key: string): string {
    assertSafeKey(key);
    return this.prefix + key;
  }

  async put(
    key: string,
    body: ReadableStream<Uint8Array>,
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ size: number }> {
    const objectKey = this.k(key);
    let size = 0;
    const counted = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          size += chunk.byteLength;
          c.enqueue(chunk);
        },
      }),
    );
    const upload = new Upload({
      client: this.opts.client as S3Client,
      params: { Bucket: this.opts.bucket, Key: objectKey, Body: counted, ContentType: "application/octet-stream" },
      partSize: this.partSize,
      queueSize: this.opts.queueSize ?? 2,
      leavePartsOnError: false,
    });
    upload.on("httpUploadProgress", () => partGc.add(this.partSize)); // one event per part sent
    const onAbort = () => void upload.abort().catch(() => {});
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      opts.signal?.throwIfAborted();
      await upload.done();
      return { size };
    } catch (err) {
      await upload.abort().catch(() => {});
      await counted.cancel().catch(() => {});
      // abort() only ends a multipart upload. A body small enough for one PutObject that broke off
      // mid-request can still have been stored, truncated, by a lenient server (s3rver keeps what
      // arrived before a cut or reset): remove it, best effort. Keys are one per file and a retry
      // starts only after this returns, so this can't delete a good object. (Orphans it misses are
      // what doctor's orphan sweep is for.)
      await this.opts.client
        .send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: objectKey }), {
          abortSignal: AbortSignal.timeout(2000), // a store that is down must not delay the answer long
        })
        .catch(() => {});
      // Errors from our own stream (size mismatch, client disconnect) pass through unchanged.
      if (err instanceof Error && !("$metadata" in err) && err.name !== "TimeoutError") throw err;
      throw unavailable("upload", err);
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
    }
  }

  async get(
    key: string,
    opts: { range?: ByteRange; signal?: AbortSignal } = {},
  ): Promise<ReadableStream<Uint8Array> | null> {
    const objectKey = this.k(key);
    try {
      const { range } = opts;
      const res = await this.opts.client.send(
        new GetObjectCommand({
          Bucket: this.opts.bucket,
          Key: objectKey,
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
        { abortSignal: opts.signal },
      );
      if (!res.Body) return null;
      // Iterate the Node response stream itself: it pauses the socket while we are behind.
      // transformToWebStream() kept reading from a fast store regardless (RSS rose ~200 MiB on a
      // 100 MiB download from s3rver). Ending the iterator early destroys the socket.
      const source = res.Body as unknown as AsyncIterable<Uint8Array>;
      async function* paced() {
        for await (const chunk of source) {
          readGc.add(chunk.byteLength);
          yield chunk;
        }
      }
      const body = iteratorToStream(paced());
      if (!range) return body;
      // Some S3-compatible servers ignore or widen a Range (s3rver answers "bytes=0-0" with the
      // whole object); trim to exactly what was asked for rather than trust the answer.
      const servedFrom = Number(/^bytes (\d+)-/.exec(res.ContentRange ?? "")?.[1] ?? 0);
      const wanted = range.end - range.start + 1;
      return servedFrom === range.start && res.ContentLength === wanted
        ? body
        : sliceStream(body, range.start - servedFrom, wanted);
    } catch (err) {
      if (isMissing(err)) return null;
      throw unavailable("read", err);
    }
  }

  async stat(key: string): Promise<{ size: number } | null> {
    const objectKey = this.k(key);
    try {
      const res = await this.opts.client.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: objectKey }));
      return { size: res.ContentLength ?? 0 };
    } catch (err) {
      if (isMissing(err)) return null;
      throw unavailable("stat", err);
    }
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.k(key);
    try {
      await this.opts.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: objectKey }));
    } catch (err) {
      if (!isMissing(err)) throw unavailable("delete", err);
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    let token: string | undefined;
    do {
      const res = await this.opts.client
        .send(
          new ListObjectsV2Command({
            Bucket: this.opts.bucket,
            Prefix: this.prefix + prefix,
            ContinuationToken: token,
          }),
        )
        .catch((err) => Promise.reject(unavailable("list", err)));
      for (const o of res.Contents ?? []) if (o.Key) yield o.Key.slice(this.prefix.length);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  // Resumable assembly = an S3 multipart upload; the caller keeps the upload id and part ETags.

  async beginParts(key: string): Promise<string> {
    const res = await this.opts.client
      .send(
        new CreateMultipartUploadCommand({
          Bucket: this.opts.bucket,
          Key: this.k(key),
          ContentType: "application/octet-stream",
        }),
      )
      .catch((err) => Promise.reject(unavailable("upload start", err)));
    if (!res.UploadId) throw new StorageUnavailableError("Object storage returned no multipart upload id");
    return res.UploadId;
  }

  async putPart(
    key: string,
    uploadId: string,
    part: { number: number; position: number; chunks: Uint8Array[] },
  ): Promise<StoredPart> {
    const body = part.chunks.length === 1 ? part.chunks[0]! : Buffer.concat(part.chunks);
    const res = await this.opts.client
      .send(
        new UploadPartCommand({
          Bucket: this.opts.bucket,
          Key: this.k(key),
          UploadId: uploadId,
          PartNumber: part.number,
          Body: body,
          ContentLength: body.byteLength,
        }),
      )
      .catch((err) => Promise.reject(unavailable("part upload", err)));
    partGc.add(body.byteLength);
    return { number: part.number, etag: res.ETag ?? "" };
  }

  async syncParts(): Promise<void> {}

  async completeParts(key: string, uploadId: string, parts: StoredPart[], _size: number): Promise<void> {
    await this.opts.client
      .send(
        new CompleteMultipartUploadCommand({
          Bucket: this.opts.bucket,
          Key: this.k(key),
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.number, ETag: p.etag })) },
        }),
      )
      .catch((err) => Promise.reject(unavailable("upload completion", err)));
  }

  async abortParts(key: string, uploadId: string): Promise<void> {
    await this.opts.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.opts.bucket, Key: this.k(key), UploadId: uploadId }))
      .catch((err) => {
        if (!isMissing(err) && (err as { name?: string })?.name !== "NoSuchUpload")
          throw unavailable("upload abort", err);
      });
  }

  async ping(): Promise<void> {
    await this.opts.client
      .send(new HeadBucketCommand({ Bucket: this.opts.bucket }))
      .catch((err) => Promise.reject(unavailable("bucket check", err)));
  }
}

/** Client settings for S3-compatible servers: path style for MinIO, checksums only when required, bounded retries and timeouts. */
export function s3ClientConfig(config: Config): S3ClientConfig {
  return {
    region: config.S3_REGION,
    endpoint: config.S3_ENDPOINT,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    credentials:
      config.AWS_ACCESS_KEY_ID && config.AWS_SECRET_ACCESS_KEY
        ? { accessKeyId: config.AWS_ACCESS_KEY_ID, secretAccessKey: config.AWS_SECRET_ACCESS_KEY }
        : undefined,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 60_000 }),
  };
}

export function createS3BackendFromConfig(config: Config): S3Backend {
  // The config schema requires S3_BUCKET when STORAGE_BACKEND=s3; this only narrows the type.
  if (!config.S3_BUCKET) throw new Error("S3_BUCKET is required for the s3 backend");
  return new S3Backend({
    client: new S3Client(s3ClientConfig(config)),
    bucket: config.S3_BUCKET,
    prefix: config.S3_KEY_PREFIX,
  });
}
