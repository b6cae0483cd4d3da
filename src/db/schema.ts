import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Drizzle view of the tables created by `migrations/*.sql` (the SQL files are the source of
 * truth; this mirrors them for typed queries). Times are epoch milliseconds.
 */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  apiKeyHash: text("api_key_hash").notNull(),
  keyPrefix: text("key_prefix").notNull(),
  quotaBytes: integer("quota_bytes").notNull(),
  usedBytes: integer("used_bytes").notNull(),
  reservedBytes: integer("reserved_bytes").notNull(),
  allowedFileTypes: text("allowed_file_types", { mode: "json" }).$type<string[] | null>(),
  webhookSecret: text("webhook_secret").notNull(),
  planId: text("plan_id"),
  /** The key replaced by regenerate-key with graceSeconds, valid until previousKeyExpiresAt. */
  previousKeyHash: text("previous_key_hash"),
  previousKeyExpiresAt: integer("previous_key_expires_at"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const workspaces = sqliteTable("workspaces", {
  id: text("id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  name: text("name").notNull(),
  slug: text("slug").notNull(),
  quotaBytes: integer("quota_bytes"),
  usedBytes: integer("used_bytes").notNull(),
  reservedBytes: integer("reserved_bytes").notNull(),
  metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown> | null>(),
  authWorkspaceId: text("auth_workspace_id"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  deletedAt: integer("deleted_at"),
});

export type FileCategory = "data_source" | "profile_image" | "general";
export type ProcessingStatus = "pending" | "processing" | "completed" | "failed";

export const files = sqliteTable("files", {
  id: text("id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  workspaceId: text("workspace_id"),
  originalName: text("original_name").notNull(),
  fileType: text("file_type").notNull(),
  sizeBytes: integer("size_bytes").notNull(),
  context: text("context"),
  tags: text("tags", { mode: "json" }).$type<Record<string, string> | null>(),
  metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown> | null>(),
  processingStatus: text("processing_status").$type<ProcessingStatus>().notNull(),
  storageKey: text("storage_key").notNull(),
  reservedBytes: integer("reserved_bytes").notNull(),
  chargedBytes: integer("charged_bytes").notNull(),
  sha256: text("sha256"),
  wrappedKey: text("wrapped_key"),
  keyId: text("key_id"),
  segmentSize: integer("segment_size"),
  webhookUrl: text("webhook_url"),
  uploadExpiresAt: integer("upload_expires_at"),
  uploadStartedAt: integer("upload_started_at"),
  uploadedAt: integer("uploaded_at"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  deletedAt: integer("deleted_at"),
  purgedAt: integer("purged_at"),
  /** Claimed by a purge or failed-object sweep until then (migration 0011). */
  sweepLeaseUntil: integer("sweep_lease_until"),
  userId: text("user_id"),
  category: text("category").$type<FileCategory>().notNull(),
  storedName: text("stored_name"),
});

export const fileStats = sqliteTable(
  "file_stats",
  {
    tenantId: text("tenant_id").notNull(),
    workspaceId: text("workspace_id").notNull(),
    context: text("context").notNull(),
    fileType: text("file_type").notNull(),
    fileCount: integer("file_count").notNull(),
    totalBytes: integer("total_bytes").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.workspaceId, t.context, t.fileType] })],
);

export type TenantRow = typeof tenants.$inferSelect;
export type WorkspaceRow = typeof workspaces.$inferSelect;
export type FileRow = typeof files.$inferSelect;

export const webhookEndpoints = sqliteTable("webhook_endpoints", {
  id: text("id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  url: text("url").notNull(),
  events: text("events", { mode: "json" }).$type<string[]>().notNull(),
  description: text("description"),
  createdAt: integer("created_at").notNull(),
});

export type DeliveryStatus = "pending" | "delivering" | "delivered" | "dead";

export const webhookDeliveries = sqliteTable("webhook_deliveries", {
  id: text("id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  event: text("event").notNull(),
  fileId: text("file_id"),
  url: text("url").notNull(),
  payload: text("payload").notNull(),
  status: text("status").$type<DeliveryStatus>().notNull(),
  attempts: integer("attempts").notNull(),
  nextAttemptAt: integer("next_attempt_at").notNull(),
  lastError: text("last_error"),
  lastStatus: integer("last_status"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  deliveredAt: integer("delivered_at"),
  /** While `delivering`: the sender holding it may record the outcome until then; after it, it is retaken. */
  leaseUntil: integer("lease_until"),
});

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;

export const plans = sqliteTable("plans", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  quotaBytes: integer("quota_bytes").notNull(),
  maxFileSizeBytes: integer("max_file_size_bytes").notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export type KeyScope = "read" | "write" | "delete";

export const userKeys = sqliteTable("user_keys", {
  id: text("id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  userId: text("user_id").notNull(),
  workspaceId: text("workspace_id"),
  scopes: text("scopes", { mode: "json" }).$type<KeyScope[]>().notNull(),
  keyHash: text("key_hash").notNull(),
  keyPrefix: text("key_prefix").notNull(),
  name: text("name"),
  createdAt: integer("created_at").notNull(),
  revokedAt: integer("revoked_at"),
});

export type PlanRow = typeof plans.$inferSelect;
export type UserKeyRow = typeof userKeys.$inferSelect;

export type AuditActorType = "admin" | "tenant" | "user" | "cli";

export const auditLog = sqliteTable("audit_log", {
  id: text("id").primaryKey(),
  createdAt: integer("created_at").notNull(),
  actorType: text("actor_type").$type<AuditActorType>().notNull(),
  actorId: text("actor_id"),
  action: text("action").notNull(),
  target: text("target"),
  tenantId: text("tenant_id"),
  address: text("address"),
  details: text("details", { mode: "json" }).$type<Record<string, unknown> | null>(),
});

export type AuditRow = typeof auditLog.$inferSelect;

export const tusUploads = sqliteTable("tus_uploads", {
  fileId: text("file_id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  uploadLength: integer("upload_length").notNull(),
  uploadOffset: integer("upload_offset").notNull(),
  wrappedKey: text("wrapped_key").notNull(),
  keyId: text("key_id").notNull(),
  partsId: text("parts_id").notNull(),
  segmentsPerPart: integer("segments_per_part").notNull(),
  tailVersion: integer("tail_version").notNull(),
  metadata: text("metadata"),
  expiresAt: integer("expires_at").notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  /** Claimed by a tus sweep until then (migration 0011). */
  sweepLeaseUntil: integer("sweep_lease_until"),
});

export const tusUploadParts = sqliteTable(
  "tus_upload_parts",
  {
    fileId: text("file_id").notNull(),
    partNumber: integer("part_number").notNull(),
    etag: text("etag").notNull(),
  },
  (t) => [primaryKey({ columns: [t.fileId, t.partNumber] })],
);

export type TusUploadRow = typeof tusUploads.$inferSelect;

/** Admin console sessions (see migrations/0008): only the SHA-256 of the cookie's id is stored. */
export const consoleSessions = sqliteTable("console_sessions", {
  idHash: text("id_hash").primaryKey(),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
});

/** Rate-limit token buckets shared by the instances of a PostgreSQL deployment (migration 0012). */
export const rateLimitBuckets = sqliteTable("rate_limit_buckets", {
  key: text("key").primaryKey(),
  microTokens: integer("micro_tokens").notNull(),
  updatedAt: integer("updated_at").notNull(),
  fullAt: integer("full_at").notNull(),
  taken: integer("taken").notNull(),
});
