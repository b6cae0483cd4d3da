import { bigint, customType, integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import type { AuditActorType, DeliveryStatus, FileCategory, KeyScope, ProcessingStatus } from "../schema";

/**
 * Drizzle view of the PostgreSQL tables created by `migrations/pg/*.sql`: the mirror of
 * `src/db/schema.ts` (SQLite), table for table and column for column, with the same TS property
 * names and the same row shapes at run time, so one repository implementation can use either
 * dialect's tables (`schema-parity.ts` checks the row types; test/db/pg-schema.test.ts checks the
 * migrated databases against each other).
 *
 * Types: SQLite INTEGER becomes `bigint` read as a JS number for bytes and epoch-ms times (both
 * exceed 2^31; every value stays below 2^53), `integer` for small counters. JSON columns are
 * `jsonb` and read as objects, like SQLite's `{ mode: "json" }` text columns.
 */

/**
 * jsonb that writes the value as is: drizzle-orm 0.45's own `jsonb` JSON.stringify-s the value
 * and Bun.SQL then encodes that string as a JSON string again, storing `"{\"a\":1}"` (a jsonb
 * string, not an object; drizzle-team/drizzle-orm#4942). Bun.SQL serialises an object bound to a
 * jsonb parameter itself. Reading accepts text too (a query that returns `::text`).
 * Note that jsonb keeps no key order: `{"b":1,"a":2}` reads back as `{"a":2,"b":1}`.
 */
const jsonb = customType<{ data: unknown; driverData: unknown }>({
  dataType: () => "jsonb",
  toDriver: (value) => value,
  fromDriver: (value) => (typeof value === "string" ? JSON.parse(value) : value),
});

/** Byte counts and epoch-ms times: bigint in PostgreSQL, a plain number in JS. */
const num = (name: string) => bigint(name, { mode: "number" });

export const settings = pgTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

export const tenants = pgTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  apiKeyHash: text("api_key_hash").notNull(),
  keyPrefix: text("key_prefix").notNull(),
  quotaBytes: num("quota_bytes").notNull(),
  usedBytes: num("used_bytes").notNull(),
  reservedBytes: num("reserved_bytes").notNull(),
  allowedFileTypes: jsonb("allowed_file_types").$type<string[] | null>(),
  webhookSecret: text("webhook_secret").notNull(),
  planId: text("plan_id"),
  previousKeyHash: text("previous_key_hash"),
  previousKeyExpiresAt: num("previous_key_expires_at"),
  createdAt: num("created_at").notNull(),
  updatedAt: num("updated_at").notNull(),
});

export const workspaces = pgTable("workspaces", {
  id: text("id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  name: text("name").notNull(),
  slug: text("slug").notNull(),
  quotaBytes: num("quota_bytes"),
  usedBytes: num("used_bytes").notNull(),
  reservedBytes: num("reserved_bytes").notNull(),
  metadata: jsonb("metadata").$type<Record<string, unknown> | null>(),
  authWorkspaceId: text("auth_workspace_id"),
  createdAt: num("created_at").notNull(),
  updatedAt: num("updated_at").notNull(),
  deletedAt: num("deleted_at"),
});

export const files = pgTable("files", {
  id: text("id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  workspaceId: text("workspace_id"),
  originalName: text("original_name").notNull(),
  fileType: text("file_type").notNull(),
  sizeBytes: num("size_bytes").notNull(),
  context: text("context"),
  tags: jsonb("tags").$type<Record<string, string> | null>(),
  metadata: jsonb("metadata").$type<Record<string, unknown> | null>(),
  processingStatus: text("processing_status").$type<ProcessingStatus>().notNull(),
  storageKey: text("storage_key").notNull(),
  reservedBytes: num("reserved_bytes").notNull(),
  chargedBytes: num("charged_bytes").notNull(),
  sha256: text("sha256"),
  wrappedKey: text("wrapped_key"),
  keyId: text("key_id"),
  segmentSize: integer("segment_size"),
  webhookUrl: text("webhook_url"),
  uploadExpiresAt: num("upload_expires_at"),
  uploadStartedAt: num("upload_started_at"),
  uploadedAt: num("uploaded_at"),
  createdAt: num("created_at").notNull(),
  updatedAt: num("updated_at").notNull(),
  deletedAt: num("deleted_at"),
  purgedAt: num("purged_at"),
  /** Claimed by a purge or failed-object sweep until then (migration 0011). */
  sweepLeaseUntil: num("sweep_lease_until"),
  userId: text("user_id"),
  category: text("category").$type<FileCategory>().notNull(),
  storedName: text("stored_name"),
});

export const fileStats = pgTable(
  "file_stats",
  {
    tenantId: text("tenant_id").notNull(),
    workspaceId: text("workspace_id").notNull(),
    context: text("context").notNull(),
    fileType: text("file_type").notNull(),
    fileCount: num("file_count").notNull(),
    totalBytes: num("total_bytes").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.workspaceId, t.context, t.fileType] })],
);

export const webhookEndpoints = pgTable("webhook_endpoints", {
  id: text("id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  url: text("url").notNull(),
  events: jsonb("events").$type<string[]>().notNull(),
  description: text("description"),
  createdAt: num("created_at").notNull(),
});

export const webhookDeliveries = pgTable("webhook_deliveries", {
  id: text("id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  event: text("event").notNull(),
  fileId: text("file_id"),
  url: text("url").notNull(),
  payload: text("payload").notNull(),
  status: text("status").$type<DeliveryStatus>().notNull(),
  attempts: integer("attempts").notNull(),
  nextAttemptAt: num("next_attempt_at").notNull(),
  lastError: text("last_error"),
  lastStatus: integer("last_status"),
  createdAt: num("created_at").notNull(),
  updatedAt: num("updated_at").notNull(),
  deliveredAt: num("delivered_at"),
  /** While `delivering`: the sender holding it may record the outcome until then; after it, it is retaken. */
  leaseUntil: num("lease_until"),
});

export const plans = pgTable("plans", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  quotaBytes: num("quota_bytes").notNull(),
  maxFileSizeBytes: num("max_file_size_bytes").notNull(),
  createdAt: num("created_at").notNull(),
  updatedAt: num("updated_at").notNull(),
});

export const userKeys = pgTable("user_keys", {
  id: text("id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  userId: text("user_id").notNull(),
  workspaceId: text("workspace_id"),
  scopes: jsonb("scopes").$type<KeyScope[]>().notNull(),
  keyHash: text("key_hash").notNull(),
  keyPrefix: text("key_prefix").notNull(),
  name: text("name"),
  createdAt: num("created_at").notNull(),
  revokedAt: num("revoked_at"),
});

export const auditLog = pgTable("audit_log", {
  id: text("id").primaryKey(),
  createdAt: num("created_at").notNull(),
  actorType: text("actor_type").$type<AuditActorType>().notNull(),
  actorId: text("actor_id"),
  action: text("action").notNull(),
  target: text("target"),
  tenantId: text("tenant_id"),
  address: text("address"),
  details: jsonb("details").$type<Record<string, unknown> | null>(),
});

export const tusUploads = pgTable("tus_uploads", {
  fileId: text("file_id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  uploadLength: num("upload_length").notNull(),
  uploadOffset: num("upload_offset").notNull(),
  wrappedKey: text("wrapped_key").notNull(),
  keyId: text("key_id").notNull(),
  partsId: text("parts_id").notNull(),
  segmentsPerPart: integer("segments_per_part").notNull(),
  tailVersion: integer("tail_version").notNull(),
  metadata: text("metadata"),
  expiresAt: num("expires_at").notNull(),
  createdAt: num("created_at").notNull(),
  updatedAt: num("updated_at").notNull(),
  /** Claimed by a tus sweep until then (migration 0011). */
  sweepLeaseUntil: num("sweep_lease_until"),
});

export const tusUploadParts = pgTable(
  "tus_upload_parts",
  {
    fileId: text("file_id").notNull(),
    partNumber: integer("part_number").notNull(),
    etag: text("etag").notNull(),
  },
  (t) => [primaryKey({ columns: [t.fileId, t.partNumber] })],
);

export const consoleSessions = pgTable("console_sessions", {
  idHash: text("id_hash").primaryKey(),
  createdAt: num("created_at").notNull(),
  expiresAt: num("expires_at").notNull(),
});

/** Rate-limit token buckets shared by the instances of a PostgreSQL deployment (migration 0012). */
export const rateLimitBuckets = pgTable("rate_limit_buckets", {
  key: text("key").primaryKey(),
  microTokens: num("micro_tokens").notNull(),
  updatedAt: num("updated_at").notNull(),
  fullAt: num("full_at").notNull(),
  taken: integer("taken").notNull(),
});
