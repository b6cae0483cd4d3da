import { randomUUID } from "node:crypto";
import type { Repos } from "../../db/repos";
import type { FileRow, TenantRow } from "../../db/schema";
import { objectKeyFor } from "../../storage/backend";
import { SizeMismatchError } from "../../storage/crypto";
import type { EncryptedObjects, StoredObjectInfo } from "../../storage/encrypted-objects";
import { checkFileName } from "../files/file-name";
import { allowedTypesOf, isTypeAllowed, MAX_FILE_SIZE_BYTES } from "../files/file-types";
import { fileView } from "../files/file-view";
import type { Clock } from "../shared/clock";
import { AppError, fileNotFound, present, validation } from "../shared/errors";
import { assertFreeformJson } from "../shared/json-limits";
import { insufficientStorage, isOutOfSpace } from "../shared/storage-errors";
import type { UrlSigner } from "../shared/url-signer";
import { storedNameFor } from "../storage-module/stored-name";
import { liveWorkspace } from "../workspaces/live-workspace";
import type { UploadPipeline } from "./upload-pipeline";

export interface UploadRequestInput {
  fileType: string;
  fileName: string;
  fileSizeBytes?: number;
  context?: string;
  tags?: Record<string, string>;
  webhookUrl?: string;
  workspaceId?: string;
}

export interface UploadsServiceDeps {
  repos: Repos;
  objects: EncryptedObjects;
  pipeline: UploadPipeline;
  signer: UrlSigner;
  clock: Clock;
  uploadExpirySeconds: number;
  /** Throws if a webhook target is unacceptable (scheme, private address). */
  assertWebhookUrl?: (url: string) => void;
}

/**
 * The checks every upload path applies before anything is reserved: the type is allowed for the
 * tenant, the name passes the one file-name rule, the size is within `maxSize` (100 MiB for the
 * two-step upload, TUS_MAX_SIZE for tus). Returns the allowed types and the NFC-normalized name.
 */
export function validateUploadInput(
  tenant: TenantRow,
  input: { fileType: string; fileName: string; fileSizeBytes?: number },
  maxSize: number,
) {
  const allowed = allowedTypesOf(tenant);
  if (!isTypeAllowed(allowed, input.fileType)) {
    throw new AppError("INVALID_FILE_TYPE", `File type '${input.fileType}' is not allowed`, {
      fileType: input.fileType,
      allowedTypes: allowed,
    });
  }
  const fileName = checkFileName(input.fileName, "fileName");
  if (input.fileSizeBytes !== undefined && input.fileSizeBytes > maxSize) {
    throw new AppError(
      "FILE_TOO_LARGE",
      `File size ${input.fileSizeBytes} bytes exceeds the maximum of ${maxSize} bytes`,
      {
        fileSize: input.fileSizeBytes,
        maxSize,
      },
    );
  }
  return { allowed, fileName };
}

/**
 * The two-step upload: a request reserves quota and creates a pending file; one PUT streams the
 * bytes through encryption into storage, then the content is verified and the file settles as
 * completed (quota charged) or failed (quota released). Sizes are declared up front so quota is
 * reserved before any byte is stored.
 */
export function createUploadsService(deps: UploadsServiceDeps) {
  const { repos, objects, pipeline, signer, clock } = deps;

  const validateRequest = (tenant: TenantRow, input: UploadRequestInput) =>
    validateUploadInput(tenant, input, MAX_FILE_SIZE_BYTES);

  function presignedPath(f: FileRow, expires: number): string {
    const token = signer.sign("upload", f.tenantId, f.id, expires);
    return `/_internal/upload/tenants/${f.tenantId}/files/${f.id}/${encodeURIComponent(f.originalName)}?token=${token}&expires=${expires}`;
  }

  /** Gives back what a pending upload holds, after a PUT was rejected before it started streaming. */
  async function releaseReservation(f: FileRow): Promise<void> {
    if (f.reservedBytes === 0) return;
    await repos.tenantTx(f.tenantId, async () => {
      if (await repos.files.dropReservation(f.id, f.reservedBytes, clock.now()))
        await repos.quota.adjust(f, -f.reservedBytes, 0);
    });
  }

  return {
    async request(tenant: TenantRow, input: UploadRequestInput) {
      const { allowed, fileName } = validateRequest(tenant, input);
      if (input.webhookUrl) deps.assertWebhookUrl?.(input.webhookUrl);
      assertFreeformJson("tags", input.tags);
      if (input.workspaceId) await liveWorkspace(repos, tenant.id, input.workspaceId);
      const now = clock.now();
      const id = randomUUID();
      const size = input.fileSizeBytes ?? 0;
      const expiresAt = now + deps.uploadExpirySeconds * 1000;
      const newRow = {
        id,
        tenantId: tenant.id,
        workspaceId: input.workspaceId ?? null,
        originalName: fileName,
        fileType: input.fileType,
        sizeBytes: size,
        context: input.context ?? null,
        tags: input.tags ?? null,
        storageKey: objectKeyFor(tenant.id, id),
        storedName: storedNameFor(fileName, now),
        reservedBytes: size,
        webhookUrl: input.webhookUrl ?? null,
        uploadExpiresAt: expiresAt,
        createdAt: now,
      };
      const row = await pipeline.insertReserving(newRow);
      return {
        fileId: id,
        presignedUrl: presignedPath(row, expiresAt),
        expiresAt: new Date(expiresAt).toISOString(),
        uploadMetadata: { maxSizeBytes: MAX_FILE_SIZE_BYTES, allowedTypes: allowed },
      };
    },

    /** Verifies the URL token of an unauthenticated PUT; returns the tenant id it is valid for. */
    checkUploadToken(fileId: string, tenantId: string, token: string, expires: number): void {
      const r = signer.verify({ purpose: "upload", tenantId, fileId, expires, token, now: clock.now() });
      if (r === "invalid") throw new AppError("UNAUTHORIZED", "Invalid upload token");
      if (r === "expired") throw new AppError("UPLOAD_EXPIRED", "Upload URL has expired");
    },

    /**
     * Streams a PUT body into storage. Exactly the declared size is accepted; a shorter, longer or
     * dropped body leaves no object and no charge, and the upload may be retried until it expires.
     */
    async receive(opts: {
      tenantId: string;
      fileId: string;
      body: ReadableStream<Uint8Array> | null;
      contentLength: number | null;
      signal?: AbortSignal;
    }) {
      const f0 = await repos.files.liveById(opts.tenantId, opts.fileId);
      if (!f0) throw fileNotFound(opts.fileId);
      if (await repos.tus.byFileId(f0.id))
        throw new AppError("CONFLICT", "This file is being uploaded with tus; PATCH its upload URL instead");
      const now = clock.now();
      if (f0.processingStatus === "pending" && f0.uploadExpiresAt !== null && f0.uploadExpiresAt <= now)
        throw new AppError("UPLOAD_EXPIRED", "Upload URL has expired");
      if (
        f0.processingStatus === "failed" &&
        (f0.metadata as { failureReason?: string } | null)?.failureReason === "expired"
      )
        throw new AppError("UPLOAD_EXPIRED", "Upload URL has expired");
      if (f0.processingStatus !== "pending")
        throw new AppError(
          "CONFLICT",
          f0.processingStatus === "processing"
            ? "An upload for this file is already in progress"
            : "This file has already been uploaded",
          { processingStatus: f0.processingStatus },
        );

      // Size: declared at request time, or (when it wasn't) taken from Content-Length.
      const declared = f0.sizeBytes || opts.contentLength;
      const rejected = async (err: AppError) => {
        await releaseReservation(f0);
        return err;
      };
      if (!declared) throw await rejected(validation("Content-Length is required when fileSizeBytes was not declared"));
      if (declared > MAX_FILE_SIZE_BYTES)
        throw await rejected(
          new AppError("PAYLOAD_TOO_LARGE", `Body exceeds the maximum of ${MAX_FILE_SIZE_BYTES} bytes`, {
            maxSize: MAX_FILE_SIZE_BYTES,
          }),
        );
      if (opts.contentLength !== null && opts.contentLength !== declared) {
        throw await rejected(
          opts.contentLength > declared
            ? new AppError("PAYLOAD_TOO_LARGE", `Body is ${opts.contentLength} bytes, declared ${declared}`, {
                declared,
                received: opts.contentLength,
              })
            : validation(`Body is ${opts.contentLength} bytes, declared ${declared}`, {
                declared,
                received: opts.contentLength,
              }),
        );
      }
      if (!opts.body) throw await rejected(validation("Request body is empty"));

      // The common case, a reservation held since the request: the claim is one statement and moves
      // no quota, so it takes no tenant lock. Otherwise (size undeclared, or a rejected PUT released
      // it) the claim and a new reservation go together: the reservation read from the claimed
      // row, not from f0, which a rejected PUT may have released since f0 was read.
      const f =
        (f0.reservedBytes > 0 ? await repos.files.claimUpload(f0.id, now, { holdingReservation: true }) : undefined) ??
        (await repos.tenantTx(f0.tenantId, async () => {
          const row = await repos.files.claimUpload(f0.id, now);
          if (!row || row.reservedBytes > 0) return row;
          await pipeline.reserve(f0.tenantId, f0.workspaceId, declared);
          await repos.files.update(f0.id, { sizeBytes: declared, reservedBytes: declared }, now);
          return present(await repos.files.byId(f0.id), "file");
        }));
      if (!f) throw new AppError("CONFLICT", "Upload is no longer pending");

      const body = pipeline.receiveBody(opts.body);
      let stored: StoredObjectInfo;
      try {
        stored = await objects.write({
          key: f.storageKey,
          body: body.body,
          plainSize: f.sizeBytes,
          signal: opts.signal,
        });
      } catch (err) {
        // A rejected PUT holds no quota (docs/api.md, "Uploads"); a retry reserves again at its claim. Only if
        // the row is still ours: a delete or expiry during the PUT has released it already.
        await repos.tenantTx(f.tenantId, async () => {
          if (!(await repos.files.releaseClaim(f.id, clock.now()))) return;
          await repos.quota.adjust(f, -f.reservedBytes, 0);
          await repos.files.update(f.id, { sizeBytes: f0.sizeBytes, reservedBytes: 0 }, clock.now());
        });
        const aborted = pipeline.clientAbort(f, err, {
          signal: opts.signal,
          received: body.received(),
          expected: f.sizeBytes,
        });
        if (aborted) throw aborted;
        if (err instanceof SizeMismatchError) {
          throw err.kind === "too_large"
            ? new AppError("PAYLOAD_TOO_LARGE", `Body is larger than the declared ${f.sizeBytes} bytes`, {
                declared: f.sizeBytes,
              })
            : validation(`Body ended after ${err.received} of ${f.sizeBytes} bytes`, {
                declared: f.sizeBytes,
                received: err.received,
              });
        }
        if (isOutOfSpace(err)) throw insufficientStorage();
        throw err;
      }

      const settled = await pipeline.verifyAndSettle(f, stored);
      return { ...fileView(settled), fileId: settled.id, status: settled.processingStatus };
    },
  };
}
export type UploadsService = ReturnType<typeof createUploadsService>;
