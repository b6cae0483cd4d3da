import type { Repos } from "../../db/repos";
import type { NewFile } from "../../db/repos/files.repo";
import type { SettlePatch } from "../../db/repos/upload-writes";
import type { FileRow } from "../../db/schema";
import type { Logger } from "../../logger";
import type { EncryptedObjects, StoredObjectInfo } from "../../storage/encrypted-objects";
import { iteratorToStream } from "../../storage/streams";
import { checkMagicBytes } from "../files/type-check";
import type { Clock } from "../shared/clock";
import { AppError, BodyInterruptedError, fileNotFound, present } from "../shared/errors";

export interface UploadPipelineDeps {
  repos: Repos;
  objects: EncryptedObjects;
  clock: Clock;
  logger: Logger;
  /** What settling a file also does: the webhook outbox and the metrics (wired in app.ts). */
  settleEvents?: SettleEvents;
  /**
   * UPLOAD_IDLE_TIMEOUT_MS: an upload body that sends nothing for this long is dropped, so a stalled
   * client can't hold its reservation (and its connection) until the upload expires.
   */
  idleTimeoutMs?: number;
}

/** What settling a file also does, besides the file row and the quota counters. */
export interface SettleEvents {
  /**
   * Reads, before the settle takes its tenant's hot rows, what `f` settling as `status` must also
   * write (its webhook event); the function returned writes it for the settled row, inside the
   * settle's transaction (database writes only). Null: nothing to write, and the settle is one
   * statement on its own.
   */
  prepare(f: FileRow, status: "completed" | "failed"): Promise<((settled: FileRow) => Promise<void>) | null>;
  /** Called once the settle has committed. */
  committed(settled: FileRow): void;
}

/**
 * The steps both upload paths (two-step PUT and the storage module's multipart POST) share:
 * reserving quota, and settling a stored upload — magic-byte check, then `completed` (quota
 * charged) or `failed` (quota released, object deleted), each settle one transaction.
 */
export function createUploadPipeline(deps: UploadPipelineDeps) {
  const { repos, objects, clock, logger } = deps;

  /**
   * Expires `tenantId`'s uploads whose PUT never came and whose time is up, releasing what they
   * hold; the caller's transaction. The expiry job does this too, but only every so often: a
   * reservation must never refuse a new request once its upload has expired. A pending upload
   * has no object yet (bytes only ever land while it is `processing`), so there is nothing to
   * delete. Returns how many were expired.
   */
  async function expireDuePending(tenantId: string): Promise<number> {
    const now = clock.now();
    let expired = 0;
    for (const f of await repos.fileSweeps.duePendingUploads(tenantId, now, 1000)) if (await expireUpload(f)) expired++;
    return expired;
  }

  /**
   * Fails a pending upload that holds what the caller saw, releasing its reservation and writing
   * its file.failed event; call inside a transaction. False if it changed meanwhile (nothing done).
   */
  async function expireUpload(f: FileRow): Promise<boolean> {
    if (!(await repos.files.expire(f.id, "pending", f.reservedBytes, clock.now()))) return false;
    await repos.quota.adjust(f, -f.reservedBytes, 0);
    const row = present(await repos.files.byId(f.id), "file");
    await (await deps.settleEvents?.prepare(row, "failed"))?.(row);
    repos.afterCommit(() => deps.settleEvents?.committed(row));
    return true;
  }

  /**
   * Reserves `bytes` at tenant and workspace level or throws QUOTA_EXCEEDED; call inside a
   * transaction. Before refusing, the tenant's expired uploads are expired and the reservation
   * is tried once more.
   */
  async function reserve(tenantId: string, workspaceId: string | null, bytes: number): Promise<void> {
    if (bytes === 0) return;
    const retried = async (attempt: () => Promise<boolean>) => {
      if (await attempt()) return true;
      // A refused reservation took no lock: take the tenant's before expiring uploads writes their
      // rows (and file_stats), the order every transaction on these rows keeps (repos.quotaTx).
      await repos.quota.lockTenant(tenantId);
      return (await expireDuePending(tenantId)) > 0 && (await attempt());
    };
    if (!(await retried(() => repos.quota.reserveTenant(tenantId, bytes)))) {
      const t = present(await repos.tenants.byId(tenantId), "tenant");
      throw new AppError("QUOTA_EXCEEDED", "Storage quota exceeded", {
        scope: "tenant",
        quotaBytes: t.quotaBytes,
        usedBytes: t.usedBytes,
        reservedBytes: t.reservedBytes,
        requestedBytes: bytes,
      });
    }
    if (workspaceId && !(await retried(() => repos.quota.reserveWorkspace(workspaceId, bytes)))) {
      const w = present(await repos.workspaces.liveById(tenantId, workspaceId), "workspace");
      throw new AppError("QUOTA_EXCEEDED", "Workspace storage quota exceeded", {
        scope: "workspace",
        workspaceId,
        quotaBytes: w.quotaBytes,
        usedBytes: w.usedBytes,
        reservedBytes: w.reservedBytes,
        requestedBytes: bytes,
      });
    }
  }

  /**
   * Inserts a new upload's row holding `row.reservedBytes` of quota (reserved at tenant and
   * workspace level), or throws QUOTA_EXCEEDED. The common case, a declared size outside a
   * workspace that fits, is one atomic write (repos.uploadWrites); anything else (a workspace to
   * reserve in too, nothing to reserve, a refusal to confirm or explain) takes the general path.
   */
  async function insertReserving(row: NewFile & { reservedBytes: number }): Promise<FileRow> {
    if (row.reservedBytes > 0 && !row.workspaceId) {
      const inserted = await repos.uploadWrites.insertReserving(row);
      if (inserted) return inserted;
    }
    // The reservation is the first write (repos.quotaTx): it takes the tenant's row.
    return repos.quotaTx(async () => {
      await reserve(row.tenantId, row.workspaceId ?? null, row.reservedBytes);
      return repos.files.insert(row);
    });
  }

  /**
   * Moves a `processing` upload to its final state: the reservation is released and, when
   * completed, the actual size charged. Null if the file was deleted or expired meanwhile.
   * One atomic write (repos.uploadWrites), in a transaction with the webhook event only when
   * there is one to write.
   */
  async function settle(f: FileRow, status: "completed" | "failed", patch: SettlePatch): Promise<FileRow | null> {
    const charged = status === "completed" ? (patch.sizeBytes ?? f.sizeBytes) : 0;
    const write = await deps.settleEvents?.prepare(f, status);
    const finish = () => repos.uploadWrites.settle(f, status, patch, charged, clock.now());
    const row = write
      ? await repos.quotaTx(async () => {
          const settled = await finish();
          if (settled) await write(settled);
          return settled;
        })
      : await finish();
    if (row) repos.afterCommit(() => deps.settleEvents?.committed(row));
    return row ?? null;
  }

  const deleteObject = (f: FileRow) =>
    objects.backend
      .delete(f.storageKey)
      .catch((err) => logger.warn("object delete failed", { key: f.storageKey, err: String(err) }));

  const idleMs = deps.idleTimeoutMs ?? 60_000;

  /**
   * The client's body as the store reads it, counting the bytes received. The idle timer runs only
   * while we wait for the client (pull-based), so a slow store downstream never counts as a stalled
   * client; when it fires, the body fails with BodyInterruptedError and the upload unwinds like any
   * interrupted one (nothing stored, reservation returned).
   */
  function receiveBody(body: ReadableStream<Uint8Array>) {
    let received = 0;
    const reader = body.getReader();
    async function* read() {
      try {
        for (;;) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          const idle = new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new BodyInterruptedError(`No data from the client for ${idleMs} ms`)),
              idleMs,
            );
          });
          const r = await Promise.race([reader.read(), idle]).finally(() => clearTimeout(timer));
          if (r.done) return;
          received += r.value.byteLength;
          yield r.value;
        }
      } finally {
        reader.cancel().catch(() => {});
      }
    }
    return { body: iteratorToStream(read()), received: () => received };
  }

  /**
   * A client that goes away mid-body is not a server failure: when `err` comes from that (its body
   * stream broke, or the request was aborted), this logs it once at warn with the file id and the
   * bytes received, and returns the 400 to answer (the client is usually gone and never reads it).
   * Null for any other error, which stays what it is.
   */
  function clientAbort(
    f: FileRow,
    err: unknown,
    o: { signal?: AbortSignal; received: number; expected?: number },
  ): AppError | null {
    if (!(err instanceof BodyInterruptedError) && !o.signal?.aborted) return null;
    logger.warn("upload aborted by client", {
      fileId: f.id,
      tenantId: f.tenantId,
      reason: err instanceof BodyInterruptedError ? err.message : "connection closed",
      bytesReceived: o.received,
      ...(o.expected !== undefined ? { bytesExpected: o.expected } : {}),
    });
    return err instanceof BodyInterruptedError
      ? err
      : new BodyInterruptedError(`The client closed the connection after ${o.received} bytes`);
  }

  return {
    reserve,
    expireUpload,
    insertReserving,
    settle,
    deleteObject,
    receiveBody,
    clientAbort,
    /** After the bytes are stored: verify the type by magic bytes and settle accordingly. */
    async verifyAndSettle(f: FileRow, stored: StoredObjectInfo): Promise<FileRow> {
      const mismatch = await checkMagicBytes(f.fileType, stored.head);
      // The size only when it changed: writing size_bytes fires the files triggers that move the
      // tenant's file_stats row out and back in, two writes to a hot row for nothing.
      const size = stored.size === f.sizeBytes ? {} : { sizeBytes: stored.size };
      const settled = mismatch
        ? await settle(f, "failed", {
            ...size,
            metadata: { failureReason: "type_mismatch", message: mismatch },
          })
        : await settle(f, "completed", {
            ...size,
            sha256: stored.sha256,
            wrappedKey: stored.wrappedKey,
            keyId: stored.keyId,
            segmentSize: stored.segmentSize,
          });
      if (!settled || mismatch) await deleteObject(f);
      if (!settled) throw fileNotFound(f.id);
      logger.info("upload settled", {
        fileId: f.id,
        tenantId: f.tenantId,
        status: settled.processingStatus,
        bytes: stored.size,
      });
      return settled;
    },
  };
}
export type UploadPipeline = ReturnType<typeof createUploadPipeline>;
