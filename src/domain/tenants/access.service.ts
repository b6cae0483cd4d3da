import { randomUUID } from "node:crypto";
import type { Repos } from "../../db/repos";
import type { KeyScope, PlanRow, TenantRow, UserKeyRow } from "../../db/schema";
import type { Clock } from "../shared/clock";
import { AppError, notFound, present } from "../shared/errors";
import { displayPrefix, generateApiKey, hashKey } from "../shared/secrets";
import { liveWorkspace } from "../workspaces/live-workspace";

export const USER_KEY_PREFIX = "sk_user_";

/** Who is calling the storage module: the organization (tenant key) or one of its users. */
export interface Principal {
  tenant: TenantRow;
  /** null = organization admin (tenant key). */
  userId: string | null;
  /** A user key may be pinned to one workspace (bucket). */
  workspaceId: string | null;
  scopes: ReadonlySet<KeyScope>;
}

const userKeyView = (k: UserKeyRow) => ({
  id: k.id,
  userId: k.userId,
  workspaceId: k.workspaceId,
  scopes: k.scopes,
  name: k.name,
  keyPrefix: k.keyPrefix,
  createdAt: new Date(k.createdAt).toISOString(),
});
export const planView = (p: PlanRow) => ({
  id: p.id,
  name: p.name,
  quotaBytes: p.quotaBytes,
  maxFileSizeBytes: p.maxFileSizeBytes,
  createdAt: new Date(p.createdAt).toISOString(),
  updatedAt: new Date(p.updatedAt).toISOString(),
});

/** User-scoped keys (issued by a tenant) and plans (defined by the admin). */
export function createAccessService({ repos, clock }: { repos: Repos; clock: Clock }) {
  return {
    issueUserKey(
      tenant: TenantRow,
      input: { userId: string; workspaceId?: string; scopes: KeyScope[]; name?: string },
    ) {
      if (input.workspaceId) liveWorkspace(repos, tenant.id, input.workspaceId);
      const apiKey = generateApiKey(USER_KEY_PREFIX);
      const row = repos.access.insertUserKey({
        id: randomUUID(),
        tenantId: tenant.id,
        userId: input.userId,
        workspaceId: input.workspaceId ?? null,
        scopes: [...new Set(input.scopes)],
        keyHash: hashKey(apiKey),
        keyPrefix: displayPrefix(apiKey, USER_KEY_PREFIX),
        name: input.name ?? null,
        createdAt: clock.now(),
      });
      return { ...userKeyView(row), apiKey };
    },
    listUserKeys: (tenantId: string) => ({ keys: repos.access.userKeys(tenantId).map(userKeyView) }),
    revokeUserKey(tenantId: string, id: string) {
      if (!repos.access.revokeUserKey(tenantId, id, clock.now())) throw notFound("Key");
    },
    /** A user key's principal, or undefined when the key is unknown or revoked. */
    authenticateUserKey(key: string): Principal | undefined {
      const k = repos.access.userKeyByHash(hashKey(key));
      const tenant = k && repos.tenants.byId(k.tenantId);
      if (!k || !tenant) return undefined;
      return { tenant, userId: k.userId, workspaceId: k.workspaceId, scopes: new Set(k.scopes) };
    },

    createPlan(input: { name: string; quotaBytes: number; maxFileSizeBytes: number }) {
      if (repos.access.planByName(input.name))
        throw new AppError("CONFLICT", `A plan named "${input.name}" already exists`);
      const now = clock.now();
      return planView(repos.access.insertPlan({ id: randomUUID(), ...input, createdAt: now, updatedAt: now }));
    },
    listPlans: () => ({ plans: repos.access.plans().map(planView) }),
    /** Changing a plan's quota changes the quota of every tenant on it, atomically. */
    updatePlan(id: string, patch: { name?: string; quotaBytes?: number; maxFileSizeBytes?: number }) {
      return repos.tx(() => {
        if (!repos.access.planById(id)) throw notFound("Plan");
        const clash = patch.name ? repos.access.planByName(patch.name) : undefined;
        if (clash && clash.id !== id) throw new AppError("CONFLICT", `A plan named "${patch.name}" already exists`);
        return planView(present(repos.access.updatePlan(id, patch, clock.now()), "plan"));
      });
    },
    assignPlan(tenantId: string, planId: string | null) {
      return repos.tx(() => {
        if (!repos.tenants.byId(tenantId)) throw notFound("Tenant");
        const plan = planId ? repos.access.planById(planId) : null;
        if (planId && !plan) throw notFound("Plan");
        repos.access.assignPlan(tenantId, plan ?? null, clock.now());
        return {
          tenantId,
          plan: plan ? planView(plan) : null,
          quotaBytes: present(repos.tenants.byId(tenantId), "tenant").quotaBytes,
        };
      });
    },
    planOf: (tenant: TenantRow) => (tenant.planId ? (repos.access.planById(tenant.planId) ?? null) : null),
  };
}
export type AccessService = ReturnType<typeof createAccessService>;

/** Helper kept next to the key format so the auth plugin can tell key kinds apart. */
export const isUserKey = (key: string) => key.startsWith(USER_KEY_PREFIX);
