import type { Repos } from "../../db/repos";
import type { FileRow } from "../../db/schema";
import type { Logger } from "../../logger";
import { DecryptionError } from "../../storage/crypto";
import type { EncryptedObjects } from "../../storage/encrypted-objects";
import { iteratorToStream } from "../../storage/streams";
import type { Clock } from "../shared/clock";
import { keysetPage } from "../shared/cursor";
import { AppError, fileNotFound, present } from "../shared/errors";
import { storageCall } from "../shared/storage-errors";
import type { UrlSigner } from "../shared/url-signer";
import { liveWorkspace } from "../workspaces/live-workspace";
import { checkFileName } from "./file-name";
import { fileView } from "./file-view";

export interface ListFilesInput {
  limit?: number;
  cursor?: string;
  context?: string;
  fileType?: string;
  workspaceId?: string;
}

/** A completed file as a download sees it. */
export interface FileContent {
  fileId: string;
  fileName: string;
  contentType: string;
  sizeBytes: number;
  /** Hex SHA-256 of the plaintext: the strong ETag. */
  sha256: string;
  lastModified: Date;
  /**
   * Plaintext bytes [start, end] (inclusive), decrypted as they are read. The first segment is
   * checked before this resolves, so a missing or tampered object fails before any header is sent.
   */
  open(range: { start: number; end: number; signal?: AbortSignal }): Promise<ReadableStream<Uint8Array>>;
}

export interface FilesServiceDeps {
  repos: Repos;
  objects: EncryptedObjects;
  signer: UrlSigner;
  clock: Clock;
  publicUrl: string;
  /** Integrity failures of stored objects are logged here, with the file they belong to. */
  logger?: Logger;
}

/** Reading, renaming, deleting and signing access to a tenant's files. */
export function createFilesService(deps: FilesServiceDeps) {
  const { repos, signer, clock } = deps;

  const getRow = async (tenantId: string, fileId: string): Promise<FileRow> => {
    const f = await repos.files.liveById(tenantId, fileId);
    if (!f) throw fileNotFound(fileId);
    return f;
  };

  const downloadUrl = (f: FileRow, expires: number) =>
    `${deps.publicUrl}/api/v1/files/${f.id}/download?token=${signer.sign("download", f.tenantId, f.id, expires)}&expires=${expires}`;

  /**
   * A stored object that fails authentication (tampered ciphertext, a damaged wrapped key, a foreign
   * master key) is an operator's emergency: log it at error with the file id, once, wherever it is
   * found. Returns `err` unchanged, for rethrowing.
   */
  const integrityFailure = (f: FileRow, err: unknown) => {
    if (err instanceof DecryptionError)
      deps.logger?.error("stored object failed its integrity check", {
        fileId: f.id,
        tenantId: f.tenantId,
        reason: err.message,
      });
    return err;
  };

  /**
   * Later segments fail while the 200 is already streaming: the stream errors (so the server aborts
   * the connection instead of ending the body short) and the failure is logged here, since no error
   * handler sees it once the headers are sent.
   */
  function watchIntegrity(f: FileRow, stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    const reader = stream.getReader();
    async function* pass() {
      try {
        for (;;) {
          const r = await reader.read().catch((err) => Promise.reject(integrityFailure(f, err)));
          if (r.done) return;
          yield r.value;
        }
      } finally {
        reader.cancel().catch(() => {});
      }
    }
    return iteratorToStream(pass());
  }

  return {
    getRow,
    get: async (tenantId: string, fileId: string) => fileView(await getRow(tenantId, fileId)),

    async list(tenantId: string, q: ListFilesInput) {
      const limit = q.limit ?? 20;
      if (q.workspaceId) await liveWorkspace(repos, tenantId, q.workspaceId);
      const filters = { tenantId, workspaceId: q.workspaceId, context: q.context, fileType: q.fileType };
      const { items, nextCursor } = await keysetPage(limit, q.cursor, (n, after) =>
        repos.files.page(filters, n, after),
      );
      return { files: items.map(fileView), nextCursor, total: await repos.files.total(filters) };
    },

    async contexts(tenantId: string, workspaceId?: string) {
      if (workspaceId) await liveWorkspace(repos, tenantId, workspaceId);
      return {
        contexts: (await repos.files.contexts(tenantId, workspaceId)).map((c) => ({
          context: c.context === "" ? null : c.context,
          fileCount: c.fileCount,
          totalBytes: c.totalBytes,
        })),
      };
    },

    async rename(tenantId: string, fileId: string, originalName: string) {
      await getRow(tenantId, fileId);
      const name = checkFileName(originalName, "originalName");
      return fileView(present(await repos.files.update(fileId, { originalName: name }, clock.now()), "file"));
    },

    /** Soft delete: the row leaves every listing and its quota is released now; the purge job removes the object later. */
    async delete(tenantId: string, fileId: string): Promise<void> {
      await repos.tx(async () => {
        const f = await getRow(tenantId, fileId);
        await repos.files.softDelete(f.id, clock.now());
        await repos.quota.adjust(f, -f.reservedBytes, -f.chargedBytes);
      });
    },

    async signedUrl(tenantId: string, fileId: string, expiresIn: number) {
      const f = await getRow(tenantId, fileId);
      const expires = clock.now() + expiresIn * 1000;
      return { fileId: f.id, url: downloadUrl(f, expires), expiresAt: new Date(expires).toISOString(), expiresIn };
    },

    /** Never expires; revoked by deleting the file or rotating URL_SIGNING_SECRET. */
    async permanentUrl(tenantId: string, fileId: string) {
      const f = await getRow(tenantId, fileId);
      return { fileId: f.id, url: downloadUrl(f, 0) };
    },

    /**
     * What a download needs: the headers' facts and `open(range)` for the body. FILE_NOT_FOUND when
     * the file has no content yet (not completed), before anything else is decided.
     */
    content(f: FileRow): FileContent {
      const { wrappedKey, keyId, segmentSize } = f;
      if (f.processingStatus !== "completed" || !wrappedKey || !keyId || !segmentSize) {
        throw new AppError("FILE_NOT_FOUND", "File content is not available", {
          fileId: f.id,
          processingStatus: f.processingStatus,
        });
      }
      const ref = { key: f.storageKey, wrappedKey, keyId, segmentSize, plainSize: f.sizeBytes };
      return {
        fileId: f.id,
        fileName: f.originalName,
        contentType: f.fileType,
        sizeBytes: f.sizeBytes,
        sha256: f.sha256 ?? "",
        lastModified: new Date(f.uploadedAt ?? f.createdAt),
        async open(range) {
          const stream = await storageCall(
            deps.objects.read(ref, range).catch((err) => Promise.reject(integrityFailure(f, err))),
          );
          if (!stream) throw new AppError("FILE_NOT_FOUND", "File content is missing from storage", { fileId: f.id });
          return watchIntegrity(f, stream);
        },
      };
    },

    /** For token downloads: the file the token was signed for, or an error. */
    async fileForToken(fileId: string, token: string, expires: number): Promise<FileRow> {
      const f = await repos.files.byId(fileId);
      if (!f || f.deletedAt !== null) throw fileNotFound(fileId);
      const r = signer.verify({ purpose: "download", tenantId: f.tenantId, fileId, expires, token, now: clock.now() });
      if (r === "invalid") throw new AppError("UNAUTHORIZED", "Invalid download token");
      if (r === "expired") throw new AppError("UNAUTHORIZED", "Download URL has expired");
      return f;
    },
  };
}
export type FilesService = ReturnType<typeof createFilesService>;
