import { randomUUID } from "node:crypto";
import type { Repos } from "../../db/repos";
import type { FileCategory, FileRow, KeyScope } from "../../db/schema";
import { objectKeyFor } from "../../storage/backend";
import { SizeMismatchError } from "../../storage/crypto";
import type { EncryptedObjects, StoredObjectInfo } from "../../storage/encrypted-objects";
import { checkFileName } from "../files/file-name";
import { allowedTypesOf, isTypeAllowed, MAX_FILE_SIZE_BYTES } from "../files/file-types";
import type { FilesService } from "../files/files.service";
import type { Clock } from "../shared/clock";
import { keysetPage } from "../shared/cursor";
import { AppError, present, validation } from "../shared/errors";
import { insufficientStorage, isOutOfSpace } from "../shared/storage-errors";
import type { AccessService, Principal } from "../tenants/access.service";
import { quotaView } from "../tenants/tenants.service";
import { recalculateUsage } from "../tenants/usage";
import type { UploadPipeline } from "../uploads/upload-pipeline";
import { CATEGORIES, CATEGORY_NAMES } from "./categories";
import { isValidStoredName, logicalPath, storedNameFor } from "./stored-name";

export const DEFAULT_BUCKET = "default";
const BUCKET = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const USER_ID = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/;

export interface StorageModuleDeps {
  repos: Repos;
  objects: EncryptedObjects;
  pipeline: UploadPipeline;
  files: FilesService;
  access: AccessService;
  clock: Clock;
  uploadExpirySeconds: number;
}

/**
 * The organization/user-scoped Storage API module over the same files. Organization = tenant;
 * bucket = workspace (by slug) plus `default` (no workspace); a user's folder = files with that
 * user_id (the organization's own folder has none). A user key only ever sees its own folder.
 */
export function createStorageModuleService(deps: StorageModuleDeps) {
  const { repos, clock } = deps;

  const requireScope = (p: Principal, scope: KeyScope) => {
    if (!p.scopes.has(scope)) throw new AppError("FORBIDDEN", `This key lacks the '${scope}' scope`, { scope });
  };

  /** The folder addressed: a user key's own; an organization key's `userId` (or its own folder). */
  function folderOf(p: Principal, userId: string | undefined): string | null {
    if (userId !== undefined && !USER_ID.test(userId)) throw validation("Invalid userId", { field: "userId" });
    if (p.userId !== null) {
      if (userId !== undefined && userId !== p.userId)
        throw new AppError("FORBIDDEN", "A user key can only address its own files");
      return p.userId;
    }
    return userId ?? null;
  }

  /** Bucket name → workspace id (null for `default`); enforces a key's workspace pin. */
  async function bucketWorkspace(p: Principal, bucket: string): Promise<string | null> {
    if (bucket.length > 100 || !BUCKET.test(bucket)) throw validation("Invalid bucket name", { field: "bucket" });
    const ws =
      bucket === DEFAULT_BUCKET ? null : ((await repos.workspaces.liveBySlug(p.tenant.id, bucket))?.id ?? undefined);
    if (ws === undefined) throw new AppError("NOT_FOUND", "Bucket not found", { bucket });
    if (p.workspaceId !== null && ws !== p.workspaceId)
      throw new AppError("FORBIDDEN", "This key is limited to another bucket", { bucket });
    return ws;
  }

  /** Bucket of a file (a deleted workspace keeps its slug for display). */
  const bucketName = async (workspaceId: string | null) =>
    workspaceId ? ((await repos.workspaces.byIdAny(workspaceId))?.slug ?? workspaceId) : DEFAULT_BUCKET;

  async function objectView(f: FileRow) {
    return {
      name: f.storedName,
      originalName: f.originalName,
      path: logicalPath(f.tenantId, f.userId, f.storedName ?? f.id),
      bucket: await bucketName(f.workspaceId),
      userId: f.userId,
      category: f.category,
      contentType: f.fileType,
      size: f.sizeBytes,
      fileId: f.id,
      processingStatus: f.processingStatus,
      sha256: f.sha256,
      createdAt: new Date(f.createdAt).toISOString(),
      lastModified: new Date(f.uploadedAt ?? f.updatedAt).toISOString(),
    };
  }

  /** The caller's object by stored name; anything outside its folder is simply not found. */
  async function objectRow(p: Principal, name: string, userId: string | undefined): Promise<FileRow> {
    if (!isValidStoredName(name)) throw validation("Invalid object name", { field: "name" });
    const f = await repos.files.liveByStoredName(p.tenant.id, folderOf(p, userId), name);
    if (!f || (p.workspaceId !== null && f.workspaceId !== p.workspaceId))
      throw new AppError("FILE_NOT_FOUND", "Object not found", { name });
    return f;
  }

  async function page(
    p: Principal,
    q: { limit?: number; cursor?: string; userId?: string; category?: string; workspaceId?: string | null },
  ) {
    const limit = q.limit ?? 20;
    const filters = {
      tenantId: p.tenant.id,
      userId: p.userId !== null || q.userId !== undefined ? folderOf(p, q.userId) : undefined,
      category: q.category,
      workspaceId: p.workspaceId ?? q.workspaceId,
    };
    const { items, nextCursor } = await keysetPage(limit, q.cursor, (n, after) => repos.files.page(filters, n, after));
    return { items: await Promise.all(items.map(objectView)), nextCursor, total: await repos.files.countScan(filters) };
  }

  /** The largest file a tenant on `plan` may store in `category`. */
  function maxSizeFor(plan: { maxFileSizeBytes: number } | null, category: FileCategory): number {
    return Math.min(
      CATEGORIES[category].maxSizeBytes,
      plan?.maxFileSizeBytes ?? MAX_FILE_SIZE_BYTES,
      MAX_FILE_SIZE_BYTES,
    );
  }

  return {
    async buckets(p: Principal) {
      requireScope(p, "read");
      const all = [
        {
          name: DEFAULT_BUCKET,
          workspaceId: null as string | null,
          quotaBytes: null as number | null,
          usedBytes: null as number | null,
          createdAt: new Date(p.tenant.createdAt).toISOString(),
        },
        ...(await repos.workspaces.list(p.tenant.id)).map((w) => ({
          name: w.slug,
          workspaceId: w.id as string | null,
          quotaBytes: w.quotaBytes,
          usedBytes: w.usedBytes,
          createdAt: new Date(w.createdAt).toISOString(),
        })),
      ];
      return { buckets: p.workspaceId === null ? all : all.filter((b) => b.workspaceId === p.workspaceId) };
    },

    async bucketObjects(p: Principal, bucket: string, q: { limit?: number; cursor?: string; userId?: string }) {
      requireScope(p, "read");
      const r = await page(p, { ...q, workspaceId: await bucketWorkspace(p, bucket) });
      return { bucket, objects: r.items, nextCursor: r.nextCursor, total: r.total };
    },

    async listFiles(
      p: Principal,
      q: { limit?: number; cursor?: string; userId?: string; category?: string; bucket?: string },
    ) {
      requireScope(p, "read");
      if (q.category && !(CATEGORY_NAMES as string[]).includes(q.category))
        throw validation("Unknown category", { field: "category", allowed: CATEGORY_NAMES });
      const r = await page(p, { ...q, workspaceId: q.bucket ? await bucketWorkspace(p, q.bucket) : undefined });
      return { files: r.items, nextCursor: r.nextCursor, total: r.total };
    },

    async metadata(p: Principal, name: string, userId?: string) {
      requireScope(p, "read");
      return objectView(await objectRow(p, name, userId));
    },

    async presignedUrl(p: Principal, name: string, expiresIn: number, userId?: string) {
      requireScope(p, "read");
      const f = await objectRow(p, name, userId);
      if (f.processingStatus !== "completed")
        throw new AppError("FILE_NOT_FOUND", "Object content is not available", { name });
      const signed = await deps.files.signedUrl(f.tenantId, f.id, expiresIn);
      return { name, url: signed.url, expiresAt: signed.expiresAt, expiresIn };
    },

    async delete(p: Principal, name: string, userId?: string) {
      requireScope(p, "delete");
      const f = await objectRow(p, name, userId);
      await deps.files.delete(f.tenantId, f.id);
    },

    async usage(p: Principal, recalculate: boolean) {
      requireScope(p, "read");
      const drift = recalculate && p.userId === null ? await recalculateUsage(repos, p.tenant.id) : null;
      const tenant = present(await repos.tenants.byId(p.tenant.id), "tenant");
      const plan = await deps.access.planOf(tenant);
      // A user key sees its own files only; the quota figures are the organization's (they decide whether its uploads fit).
      const onlyUser = p.userId ?? undefined;
      const byUser = (await repos.files.usageBy(tenant.id, "userId", onlyUser)).map((r) => ({
        userId: r.key as string | null,
        fileCount: r.fileCount,
        bytes: r.bytes,
      }));
      return {
        organizationId: tenant.id,
        ...quotaView(tenant),
        plan: plan ? { id: plan.id, name: plan.name } : null,
        fileCount: byUser.reduce((n, u) => n + u.fileCount, 0),
        byCategory: (await repos.files.usageBy(tenant.id, "category", onlyUser)).map((r) => ({
          category: r.key as string,
          fileCount: r.fileCount,
          bytes: r.bytes,
        })),
        byUser,
        ...(drift ? { recalculated: drift } : {}),
      };
    },

    async quota(p: Principal) {
      requireScope(p, "read");
      const plan = await deps.access.planOf(p.tenant);
      return {
        ...quotaView(p.tenant),
        plan: plan ? { id: plan.id, name: plan.name } : null,
        maxFileSizeBytes: Math.min(plan?.maxFileSizeBytes ?? MAX_FILE_SIZE_BYTES, MAX_FILE_SIZE_BYTES),
        categories: Object.fromEntries(
          CATEGORY_NAMES.map((c) => [
            c,
            { maxSizeBytes: maxSizeFor(plan, c), allowedTypes: CATEGORIES[c].allowedTypes ?? allowedTypesOf(p.tenant) },
          ]),
        ),
      };
    },

    /**
     * Multipart upload, step by step: everything is checked and the quota reserved (upper bound:
     * the request's Content-Length) before the first file byte is stored; then the part streams
     * through encryption; the actual size is charged and the rest of the reservation released.
     */
    async upload(
      p: Principal,
      input: {
        bucket: string;
        category: string;
        userId?: string;
        fileName: string;
        contentType: string;
        bound: number;
        body: ReadableStream<Uint8Array>;
        signal?: AbortSignal;
      },
    ) {
      requireScope(p, "write");
      if (!(CATEGORY_NAMES as string[]).includes(input.category))
        throw validation("Unknown category", { field: "category", allowed: CATEGORY_NAMES });
      const category = input.category as FileCategory;
      const folder = folderOf(p, input.userId);
      const workspaceId = await bucketWorkspace(p, input.bucket);
      const allowed = CATEGORIES[category].allowedTypes ?? allowedTypesOf(p.tenant);
      const type = (input.contentType.split(";")[0] ?? "").trim().toLowerCase();
      if (!isTypeAllowed(allowed, type))
        throw new AppError("INVALID_FILE_TYPE", `File type '${type}' is not allowed for ${category}`, {
          fileType: type,
          allowedTypes: allowed,
          category,
        });
      const originalName = checkFileName(input.fileName, "file");
      const maxSize = maxSizeFor(await deps.access.planOf(p.tenant), category);
      const now = clock.now();
      const id = randomUUID();
      const bound = Math.min(input.bound, maxSize);
      const f = await deps.pipeline.insertReserving({
        id,
        tenantId: p.tenant.id,
        workspaceId,
        userId: folder,
        category,
        originalName,
        storedName: storedNameFor(originalName, now),
        fileType: type,
        sizeBytes: 0,
        context: null,
        tags: null,
        storageKey: objectKeyFor(p.tenant.id, id),
        reservedBytes: bound,
        webhookUrl: null,
        // If the process dies mid-stream, the row reopens at start-up and then expires like any upload.
        uploadExpiresAt: now + deps.uploadExpirySeconds * 1000,
        processingStatus: "processing",
        uploadStartedAt: now,
        createdAt: now,
      });
      const body = deps.pipeline.receiveBody(input.body);
      let stored: StoredObjectInfo;
      try {
        stored = await deps.objects.write({
          key: f.storageKey,
          body: body.body,
          maxSize: bound,
          signal: input.signal,
        });
      } catch (err) {
        await deps.pipeline.settle(f, "failed", { metadata: { failureReason: "upload_interrupted" } });
        await deps.pipeline.deleteObject(f);
        const aborted = deps.pipeline.clientAbort(f, err, { signal: input.signal, received: body.received() });
        if (aborted) throw aborted;
        if (err instanceof SizeMismatchError)
          throw new AppError("FILE_TOO_LARGE", `File exceeds the maximum of ${maxSize} bytes for ${category}`, {
            maxSize,
            category,
          });
        if (isOutOfSpace(err)) throw insufficientStorage();
        throw err;
      }
      if (stored.size === 0) {
        await deps.pipeline.settle(f, "failed", { metadata: { failureReason: "empty" } });
        await deps.pipeline.deleteObject(f);
        throw validation("The file is empty", { field: "file" });
      }
      return objectView(await deps.pipeline.verifyAndSettle(f, stored));
    },
  };
}
export type StorageModuleService = ReturnType<typeof createStorageModuleService>;
