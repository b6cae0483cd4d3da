import { randomUUID } from "node:crypto";
import type { Repos } from "../../db/repos";
import type { FileRow, TusUploadRow } from "../../db/schema";
import type { Logger } from "../../logger";
import { objectKeyFor, tenantObjectPrefix } from "../../storage/backend";
import { SizeMismatchError } from "../../storage/crypto";
import type { StoredObjectInfo } from "../../storage/encrypted-objects";
import { ChecksumMismatchError, type ResumableObjects, type ResumableState } from "../../storage/resumable-objects";
import type { Clock } from "../shared/clock";
import { AppError, fileNotFound, validation } from "../shared/errors";
import { storageCall } from "../shared/storage-errors";
import { storedNameFor } from "../storage-module/stored-name";
import type { Principal } from "../tenants/access.service";
import { liveWorkspace } from "../workspaces/live-workspace";
import { parseTusChecksum, parseTusMetadata } from "./tus-metadata";
import { localUploadLocks, type UploadLocks } from "./upload-locks";
import type { UploadPipeline } from "./upload-pipeline";
import { validateUploadInput } from "./uploads.service";

export interface TusServiceDeps {
  repos: Repos;
  resumable: ResumableObjects;
  pipeline: UploadPipeline;
  clock: Clock;
  logger: Logger;
  maxSize: number;
  expirySeconds: number;
  /** Absolute base for upload URLs when PUBLIC_URL is configured; else they are paths. */
  publicBase: string | null;
  /** Locks shared with the other instances (PostgreSQL); the in-process ordering alone by default. */
  locks?: UploadLocks;
}

/** How long a request waits for another instance to stop serving the same upload and record its offset. */
const TAKE_OVER_WAIT_MS = 10_000;

/** The upload is being served by a request elsewhere that did not give way in time (tus clients retry a 409). */
class UploadBusyError extends AppError {
  constructor(fileId: string) {
    super("CONFLICT", "Another request for this upload is in progress; retry", { fileId });
  }
}

/** Where an upload stands, for HEAD and PATCH responses. */
export interface TusUploadView {
  fileId: string;
  offset: number;
  length: number;
  /** null once the upload became a file (nothing expires any more). */
  expiresAt: number | null;
  metadata: string | null;
}

/**
 * tus 1.0 resumable uploads (core, creation, creation-with-upload, termination, expiration,
 * checksum). Creating an upload validates it like the upload request and reserves quota for its
 * whole length; bytes go through `ResumableObjects` (durable after every request, and every
 * 16 MiB within one); the last byte publishes the object and settles the file through the same
 * pipeline as the two-step upload (magic bytes, quota charge, webhook). See docs/architecture.md.
 *
 * Requests for one upload run one at a time. A new request aborts the one in flight — its client
 * has gone, or it would not have sent another — and waits for it to record what it received, so
 * HEAD always reports the exact offset. Across instances (PostgreSQL) the same holds through
 * `UploadLocks`: the request on the other instance is asked to stop, and is waited for up to
 * TAKE_OVER_WAIT_MS; if it has not given way by then the new request is refused with 409.
 */
export function createTusService(deps: TusServiceDeps) {
  const { repos, resumable, pipeline, clock, logger } = deps;
  const active = new Map<string, { ctrl: AbortController; done: Promise<void> }>();
  const locks = deps.locks ?? localUploadLocks;
  // Another instance's request for an upload served here: this one gives way.
  locks.onAbortRequest((fileId) => active.get(fileId)?.ctrl.abort());

  /**
   * Runs `fn` as the only request for `fileId`, here and on every instance. `takeOver`: abort
   * whatever request holds it and wait (client requests); without, give up at once (the sweep).
   */
  async function exclusive<T>(fileId: string, fn: (signal: AbortSignal) => Promise<T>, takeOver = true): Promise<T> {
    const prev = active.get(fileId);
    prev?.ctrl.abort();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const entry = { ctrl: new AbortController(), done: (prev?.done ?? Promise.resolve()).then(() => mine) };
    active.set(fileId, entry);
    try {
      await prev?.done;
      const unlock = await locks.acquire(fileId, { takeOver, waitMs: TAKE_OVER_WAIT_MS, signal: entry.ctrl.signal });
      if (!unlock) throw new UploadBusyError(fileId);
      try {
        return await fn(entry.ctrl.signal);
      } finally {
        await unlock();
      }
    } finally {
      release();
      if (active.get(fileId) === entry) active.delete(fileId);
    }
  }

  const stateOf = (u: TusUploadRow, f: FileRow): ResumableState => ({
    key: f.storageKey,
    stagingPrefix: `${tenantObjectPrefix(f.tenantId)}tus/${f.id}`,
    uploadId: u.partsId,
    wrappedKey: u.wrappedKey,
    keyId: u.keyId,
    length: u.uploadLength,
    offset: u.uploadOffset,
    segmentsPerPart: u.segmentsPerPart,
    tailVersion: u.tailVersion,
  });

  /** The caller's file (a user key sees only its own), or 404 like any missing id. */
  async function ownFile(p: Principal, fileId: string): Promise<FileRow> {
    const f = await repos.files.liveById(p.tenant.id, fileId);
    if (!f || (p.userId !== null && f.userId !== p.userId)) throw fileNotFound(fileId);
    return f;
  }

  /** The upload in progress, or the reason there is none (completed, expired, failed). */
  async function inProgress(f: FileRow): Promise<TusUploadRow> {
    const u = await repos.tus.byFileId(f.id);
    const reason = (f.metadata as { failureReason?: string } | null)?.failureReason;
    if (f.processingStatus === "failed")
      throw reason === "expired"
        ? new AppError("UPLOAD_EXPIRED", "The upload has expired", { fileId: f.id })
        : new AppError("CONFLICT", "The upload failed", { fileId: f.id, failureReason: reason ?? null });
    if (f.processingStatus === "completed" || !u)
      throw new AppError("CONFLICT", "The upload is complete", { fileId: f.id, offset: f.sizeBytes });
    if (u.expiresAt <= clock.now()) throw new AppError("UPLOAD_EXPIRED", "The upload has expired", { fileId: f.id });
    return u;
  }

  /** All bytes are in: publish the object and settle the file (magic bytes, quota, webhook). */
  async function finish(f0: FileRow, u: TusUploadRow): Promise<FileRow> {
    const now = clock.now();
    const f = await repos.files.claimUpload(f0.id, now);
    if (!f) throw new AppError("CONFLICT", "Upload is no longer pending");
    let stored: StoredObjectInfo;
    try {
      stored = await storageCall(resumable.finish(stateOf(u, f), await repos.tus.parts(f.id)));
    } catch (err) {
      await repos.files.releaseClaim(f.id, clock.now()); // retried by the next HEAD/PATCH or the expiry job
      throw err;
    }
    const settled = await pipeline.verifyAndSettle(f, stored);
    await repos.tus.remove(f.id);
    return settled;
  }

  const viewOf = (u: TusUploadRow): TusUploadView => ({
    fileId: u.fileId,
    offset: u.uploadOffset,
    length: u.uploadLength,
    expiresAt: u.expiresAt,
    metadata: u.metadata,
  });

  /** A settled file: every byte is there. A type mismatch is reported as the file's failure. */
  function completedView(f: FileRow): TusUploadView {
    if (f.processingStatus === "failed") {
      const m = f.metadata as { failureReason?: string; message?: string } | null;
      throw new AppError("INVALID_FILE_TYPE", m?.message ?? "The content does not match the declared file type", {
        fileId: f.id,
        failureReason: m?.failureReason ?? null,
      });
    }
    return { fileId: f.id, offset: f.sizeBytes, length: f.sizeBytes, expiresAt: null, metadata: null };
  }

  async function append(
    p: Principal,
    f: FileRow,
    opts: {
      offset: number;
      body: ReadableStream<Uint8Array> | null;
      contentLength: number | null;
      checksum: string | null;
      signal?: AbortSignal;
    },
  ): Promise<TusUploadView> {
    if (p.userId !== null && !p.scopes.has("write"))
      throw new AppError("FORBIDDEN", "This key lacks the 'write' scope");
    const checksum = parseTusChecksum(opts.checksum);
    return exclusive(f.id, async (signal) => {
      const current = (await repos.files.byId(f.id))!;
      if (current.processingStatus === "completed" && !(await repos.tus.byFileId(f.id))) {
        if (opts.offset !== current.sizeBytes || (opts.contentLength ?? 0) > 0)
          throw new AppError("CONFLICT", "The upload is complete", { fileId: f.id, offset: current.sizeBytes });
        return completedView(current);
      }
      const u = await inProgress(current);
      if (opts.offset !== u.uploadOffset)
        throw new AppError(
          "CONFLICT",
          `Upload-Offset ${opts.offset} does not match the upload's offset ${u.uploadOffset}`,
          {
            offset: u.uploadOffset,
          },
        );
      if (opts.contentLength !== null && u.uploadOffset + opts.contentLength > u.uploadLength)
        throw new AppError("PAYLOAD_TOO_LARGE", `The body runs past Upload-Length ${u.uploadLength}`, {
          offset: u.uploadOffset,
          length: u.uploadLength,
          received: opts.contentLength,
        });
      if (u.uploadOffset < u.uploadLength && opts.body) {
        const both = opts.signal ? AbortSignal.any([signal, opts.signal]) : signal;
        // Idle timeout and byte count as for every upload body: a stalled PATCH ends like a cut one.
        const body = pipeline.receiveBody(opts.body);
        try {
          await storageCall(
            resumable.append(stateOf(u, current), body.body, {
              checksum,
              signal: both,
              checkpoint: (c) => repos.tx(() => repos.tus.checkpoint(f.id, c, clock.now())),
            }),
          );
        } catch (err) {
          if (err instanceof SizeMismatchError)
            throw new AppError("PAYLOAD_TOO_LARGE", `The body runs past Upload-Length ${u.uploadLength}`, {
              length: u.uploadLength,
            });
          if (err instanceof ChecksumMismatchError)
            throw new AppError("CHECKSUM_MISMATCH", "The body does not match Upload-Checksum; nothing of it was kept");
          // A client gone (or silent) mid-PATCH is routine for tus: one warn line, no error.
          throw pipeline.clientAbort(current, err, { signal: opts.signal, received: body.received() }) ?? err;
        }
      }
      const after = (await repos.tus.byFileId(f.id))!;
      if (after.uploadOffset < after.uploadLength) return viewOf(after);
      return completedView(await finish((await repos.files.byId(f.id))!, after));
    });
  }

  return {
    maxSize: deps.maxSize,
    /** The upload URL (tus `Location`): the file id is its last segment. */
    locationOf: (fileId: string) => `${deps.publicBase ?? ""}/api/v1/uploads/tus/${fileId}`,

    /** POST: validates, reserves quota for Upload-Length and opens the upload. */
    async create(
      p: Principal,
      input: { length: string | null; deferLength: string | null; metadata: string | null; workspaceHeader?: string },
    ): Promise<TusUploadView & { file: FileRow }> {
      if (p.userId !== null && !p.scopes.has("write"))
        throw new AppError("FORBIDDEN", "This key lacks the 'write' scope");
      if (input.deferLength !== null) throw validation("Upload-Defer-Length is not supported: send Upload-Length");
      if (input.length === null || !/^\d{1,16}$/.test(input.length))
        throw validation("Upload-Length is required (a non-negative integer)", { field: "Upload-Length" });
      const length = Number(input.length);
      if (length === 0) throw validation("Upload-Length must be at least 1", { field: "Upload-Length" });
      const meta = parseTusMetadata(input.metadata);
      const { fileName } = validateUploadInput(p.tenant, { ...meta, fileSizeBytes: length }, deps.maxSize);
      const workspaceId = meta.workspaceId ?? input.workspaceHeader ?? p.workspaceId ?? null;
      if (p.workspaceId !== null && workspaceId !== p.workspaceId)
        throw new AppError("FORBIDDEN", "This key is limited to another workspace", { workspaceId });
      if (workspaceId) await liveWorkspace(repos, p.tenant.id, workspaceId);

      const id = randomUUID();
      const key = objectKeyFor(p.tenant.id, id);
      const begun = await storageCall(resumable.begin(key, length));
      const now = clock.now();
      const expiresAt = now + deps.expirySeconds * 1000;
      try {
        return await repos.tenantTx(p.tenant.id, async () => {
          await pipeline.reserve(p.tenant.id, workspaceId, length);
          const file = await repos.files.insert({
            id,
            tenantId: p.tenant.id,
            workspaceId,
            userId: p.userId,
            originalName: fileName,
            fileType: meta.fileType,
            sizeBytes: length,
            context: meta.context ?? null,
            tags: meta.tags ?? null,
            storageKey: key,
            storedName: storedNameFor(fileName, now),
            reservedBytes: length,
            webhookUrl: null,
            uploadExpiresAt: expiresAt,
            createdAt: now,
          });
          const u = await repos.tus.insert({
            fileId: id,
            tenantId: p.tenant.id,
            uploadLength: length,
            wrappedKey: begun.wrappedKey,
            keyId: begun.keyId,
            partsId: begun.uploadId,
            segmentsPerPart: begun.segmentsPerPart,
            metadata: input.metadata,
            expiresAt,
            createdAt: now,
          });
          return { ...viewOf(u), file };
        });
      } catch (err) {
        const stagingPrefix = `${tenantObjectPrefix(p.tenant.id)}tus/${id}`;
        await resumable.discard({ key, uploadId: begun.uploadId, stagingPrefix }).catch(() => {});
        throw err;
      }
    },

    /** HEAD: the exact durable offset (waits for a request in flight to record its bytes). */
    async head(p: Principal, fileId: string): Promise<TusUploadView> {
      const f = await ownFile(p, fileId);
      return exclusive(f.id, async () => {
        const current = (await repos.files.byId(f.id))!;
        if (current.processingStatus === "completed" && !(await repos.tus.byFileId(f.id)))
          return completedView(current);
        const u = await inProgress(current);
        // Every byte arrived but a crash came before the file settled: settle now.
        if (u.uploadOffset === u.uploadLength) return completedView(await finish(current, u));
        return viewOf(u);
      });
    },

    /** PATCH (and the body of a creation-with-upload POST): appends at `offset`. */
    append: async (p: Principal, fileId: string, opts: Parameters<typeof append>[2]) =>
      append(p, await ownFile(p, fileId), opts),

    /** DELETE: ends an unfinished upload, releasing its reservation and staging data. */
    async terminate(p: Principal, fileId: string): Promise<void> {
      if (p.userId !== null && !p.scopes.has("delete"))
        throw new AppError("FORBIDDEN", "This key lacks the 'delete' scope");
      const f = await ownFile(p, fileId);
      await exclusive(f.id, async () => {
        const current = (await repos.files.byId(f.id))!;
        const u = await repos.tus.byFileId(f.id);
        if (!u || current.processingStatus !== "pending")
          throw new AppError("CONFLICT", "Only an unfinished upload can be terminated; delete the file instead", {
            fileId: f.id,
          });
        await repos.tx(async () => {
          if (await repos.files.softDelete(f.id, clock.now()))
            await repos.quota.adjust(current, -current.reservedBytes, 0);
        });
        await discard(u, current);
      });
    },

    /**
     * For the expiry job: settles uploads whose bytes all arrived before a crash, expires the
     * overdue ones (reservation released, `failed` with reason `expired`, webhook), and removes the
     * staging data of every upload that is over. Returns how many uploads it ended.
     */
    async sweep(batch = 100): Promise<number> {
      let ended = 0;
      // Claimed (tus.repo.ts claimSweepable): with several instances each upload is swept by one.
      for (const u of await repos.tus.claimSweepable(clock.now(), batch)) {
        // An upload another instance is serving is left to the next run (takeOver false).
        await exclusive(
          u.fileId,
          async () => {
            const f = await repos.files.byId(u.fileId);
            const row = await repos.tus.byFileId(u.fileId);
            if (!f || !row) return;
            if (f.processingStatus === "processing") return;
            const live = f.processingStatus === "pending" && f.deletedAt === null;
            if (live && row.expiresAt > clock.now()) {
              if (row.uploadOffset === row.uploadLength)
                await finish(f, row).catch((err) =>
                  logger.warn("tus: settle failed", { fileId: f.id, err: String(err) }),
                );
              return;
            }
            // The expiry is conditional: if the upload changed meanwhile (a request got to it), it
            // is left alone and looked at again on the next sweep.
            if (live && !(await repos.tx(() => pipeline.expireUpload(f)))) return;
            await discard(row, f);
            ended++;
          },
          false,
        )
          .catch((err) => {
            if (!(err instanceof UploadBusyError)) throw err;
          })
          .finally(() => repos.tus.releaseSweep(u.fileId)); // a no-op once the row is gone
      }
      if (ended) logger.info("tus uploads ended", { count: ended });
      return ended;
    },
  };

  async function discard(u: TusUploadRow, f: FileRow) {
    await resumable
      .discard(stateOf(u, f))
      .catch((err) => logger.warn("tus: staging cleanup failed", { fileId: f.id, err: String(err) }));
    await repos.tus.remove(u.fileId);
  }
}
export type TusService = ReturnType<typeof createTusService>;
