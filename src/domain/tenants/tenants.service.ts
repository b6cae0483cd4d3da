import { randomUUID } from "node:crypto";
import type { TenantPatch, TenantsRepo } from "../../db/repos/tenants.repo";
import type { TenantRow } from "../../db/schema";
import { allowedTypesOf, DEFAULT_FILE_TYPES } from "../files/file-types";
import type { Clock } from "../shared/clock";
import { keysetPage } from "../shared/cursor";
import { AppError, notFound, present } from "../shared/errors";
import type { SecretBox } from "../shared/secret-box";
import { displayPrefix, generateApiKey, hashKey, randomSecret } from "../shared/secrets";
import type { UsageDrift } from "./usage";

export const DEFAULT_TENANT_QUOTA = 524_288_000;

/** Quota numbers as every quota endpoint shows them. */
export function quotaView(t: { quotaBytes: number; usedBytes: number; reservedBytes: number }) {
  const availableBytes = Math.max(0, t.quotaBytes - t.usedBytes - t.reservedBytes);
  // Whole percent (docs/api.md, "Quota": 10 MiB of 500 MiB → 2).
  const usagePercent = t.quotaBytes > 0 ? Math.round((t.usedBytes / t.quotaBytes) * 100) : t.usedBytes > 0 ? 100 : 0;
  return {
    quotaBytes: t.quotaBytes,
    usedBytes: t.usedBytes,
    availableBytes,
    usagePercent,
    reservedBytes: t.reservedBytes,
  };
}

/**
 * Admin-facing tenant shape. Timestamps are ISO 8601 like every tenant timestamp of the API
 * (`/api/v1/tenant/info`); only workspaces use epoch seconds (docs/api.md, "Timestamps").
 */
export function tenantView(t: TenantRow) {
  return {
    id: t.id,
    name: t.name,
    keyPrefix: t.keyPrefix,
    quotaBytes: t.quotaBytes,
    usedBytes: t.usedBytes,
    reservedBytes: t.reservedBytes,
    allowedFileTypes: allowedTypesOf(t),
    planId: t.planId,
    createdAt: new Date(t.createdAt).toISOString(),
    updatedAt: new Date(t.updatedAt).toISOString(),
  };
}

export interface TenantsServiceDeps {
  tenants: TenantsRepo;
  liveFileCount: (tenantId: string) => Promise<number>;
  /** Removes every stored object of the tenant (forced delete); idempotent. */
  deleteTenantObjects: (tenantId: string) => Promise<void>;
  /** Recomputes usage counters from the files table (one tenant, or all without an id). */
  recalculateUsage: (tenantId?: string) => Promise<UsageDrift>;
  /** Seals webhook secrets before they are stored (tenants/webhook-secrets.ts). */
  secrets: SecretBox;
  clock: Clock;
}

/** Tenant lifecycle and API keys. Keys are returned once and stored only as SHA-256. */
export function createTenantsService(deps: TenantsServiceDeps) {
  const { tenants, liveFileCount, deleteTenantObjects, clock } = deps;
  const get = async (id: string) => {
    const t = await tenants.byId(id);
    if (!t) throw notFound("Tenant");
    return t;
  };
  const assertNameFree = async (name: string, exceptId?: string) => {
    const other = await tenants.byName(name);
    if (other && other.id !== exceptId) throw new AppError("CONFLICT", `A tenant named "${name}" already exists`);
  };

  return {
    get,
    async authenticate(apiKey: string): Promise<TenantRow | undefined> {
      // Lookup by hash is indexed; an attacker can't learn anything from timing of a hash lookup
      // because the hash of a guessed key is unrelated to the stored hash's prefix.
      // The replaced key of a regenerate-key with graceSeconds is looked up only on a miss, so
      // the hot path (a current key) stays one indexed lookup.
      const hash = hashKey(apiKey);
      return (await tenants.byKeyHash(hash)) ?? (await tenants.byPreviousKeyHash(hash, clock.now()));
    },
    async create(input: { name: string; quotaBytes?: number; allowedFileTypes?: string[] | null }) {
      await assertNameFree(input.name);
      const apiKey = generateApiKey();
      const id = randomUUID();
      const row = await tenants.insert({
        id,
        name: input.name,
        apiKeyHash: hashKey(apiKey),
        keyPrefix: displayPrefix(apiKey),
        quotaBytes: input.quotaBytes ?? DEFAULT_TENANT_QUOTA,
        // Omitted = the default six, stored explicitly; null = any type (an explicit opt-in).
        allowedFileTypes: input.allowedFileTypes === undefined ? [...DEFAULT_FILE_TYPES] : input.allowedFileTypes,
        webhookSecret: deps.secrets.seal(`whsec_${randomSecret()}`, id),
        createdAt: clock.now(),
      });
      return { tenant: row, apiKey };
    },
    /**
     * Issues a new key. With `graceSeconds` > 0 the replaced key keeps working for that long (so
     * clients can be switched without downtime); otherwise it stops at once. A second regenerate
     * during a grace window ends the first window: only one previous key is ever valid.
     */
    async regenerateKey(id: string, graceSeconds = 0) {
      const old = await get(id);
      const apiKey = generateApiKey();
      const now = clock.now();
      const previousKeyExpiresAt = graceSeconds > 0 ? now + graceSeconds * 1000 : null;
      await tenants.update(
        id,
        {
          apiKeyHash: hashKey(apiKey),
          keyPrefix: displayPrefix(apiKey),
          previousKeyHash: previousKeyExpiresAt ? old.apiKeyHash : null,
          previousKeyExpiresAt,
        },
        now,
      );
      return {
        tenantId: id,
        apiKey,
        ...(previousKeyExpiresAt ? { previousKeyExpiresAt: new Date(previousKeyExpiresAt).toISOString() } : {}),
      };
    },
    async rotateWebhookSecret(id: string): Promise<string> {
      const webhookSecret = `whsec_${randomSecret()}`;
      await tenants.update(id, { webhookSecret: deps.secrets.seal(webhookSecret, id) }, clock.now());
      return webhookSecret;
    },
    /** The tenant's webhook signing secret in clear (stored sealed). */
    webhookSecretOf(t: Pick<TenantRow, "id" | "webhookSecret">): Promise<string> {
      return deps.secrets.open(t.webhookSecret, t.id);
    },
    async update(id: string, patch: TenantPatch): Promise<TenantRow> {
      await get(id);
      if (patch.name !== undefined) await assertNameFree(patch.name, id);
      return present(await tenants.update(id, patch, clock.now()), "tenant");
    },
    /**
     * Refuses while live files exist unless forced. A forced delete removes the objects first and
     * the rows (cascading) last, so a crash in between leaves a tenant to delete again, never
     * objects without rows.
     */
    async delete(id: string, force: boolean) {
      await get(id);
      const live = await liveFileCount(id);
      if (live > 0 && !force) {
        throw new AppError("CONFLICT", "Tenant still has files; delete them first or pass force=true", {
          fileCount: live,
        });
      }
      // Revoke the key first so nothing new arrives, remove objects, then rows; the second sweep
      // catches an upload that completed in between (its row went with the cascade).
      await tenants.update(
        id,
        {
          apiKeyHash: hashKey(randomSecret()),
          keyPrefix: "revoked",
          previousKeyHash: null,
          previousKeyExpiresAt: null,
        },
        clock.now(),
      );
      await deleteTenantObjects(id);
      await tenants.delete(id);
      await deleteTenantObjects(id);
    },
    /** Fixes drift in the usage counters of one tenant (404 if unknown) or, without an id, of all. */
    async recalculateUsage(id?: string): Promise<UsageDrift> {
      if (id !== undefined) await get(id);
      return deps.recalculateUsage(id);
    },
    async list(limit: number, cursor?: string) {
      const { items, nextCursor } = await keysetPage(limit, cursor, (n, after) => tenants.page(n, after));
      return { tenants: items.map(tenantView), nextCursor, total: await tenants.count() };
    },
  };
}
export type TenantsService = ReturnType<typeof createTenantsService>;
