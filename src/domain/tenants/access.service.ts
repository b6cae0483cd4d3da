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
    async issueUserKey(
      tenant: TenantRow,
      input: { userId: string; workspaceId?: string; scopes: KeyScope[]; name?: string },
    ) {
      if (input.workspaceId) await liveWorkspace(repos, tenant.id, input.workspaceId);
      const apiKey = generateApiKey(USER_KEY_PREFIX);
      const row = await repos.access.insertUserKey({
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
    listUserKeys: async (tenantId: string) => ({ keys: (await repos.access.userKeys(tenantId)).map(userKeyView) }),
    async revokeUserKey(tenantId: string, id: string) {
      if (!(await repos.access.revokeUserKey(tenantId, id, clock.now()))) throw notFound("Key");
    },
    /** A user key's principal, or undefined when the key is unknown or revoked. */
    async authenticateUserKey(key: string): Promise<Principal | undefined> {
      const k = await repos.access.userKeyByHash(hashKey(key));
      const tenant = k && (await repos.tenants.byId(k.tenantId));
      if (!k || !tenant) return undefined;
      return { tenant, userId: k.userId, workspaceId: k.workspaceId, scopes: new Set(k.scopes) };
    },

    async createPlan(input: { name: string; quotaBytes: number; maxFileSizeBytes: number }) {
      if (await repos.access.planByName(input.name))
        throw new AppError("CONFLICT", `A plan named "${input.name}" already exists`);
      const now = clock.now();
      return planView(await repos.access.insertPlan({ id: randomUUID(), ...input, createdAt: now, updatedAt: now }));
    },
    listPlans: async () => ({ plans: (await repos.access.plans()).map(planView) }),
    /** Changing a plan's quota changes the quota of every tenant on it, atomically. */
    async updatePlan(id: string, patch: { name?: string; quotaBytes?: number; maxFileSizeBytes?: number }) {
      return await repos.tx(async () => {
        if (!(await repos.access.planById(id))) throw notFound("Plan");
        const clash = patch.name ? await repos.access.planByName(patch.name) : undefined;
        if (clash && clash.id !== id) throw new AppError("CONFLICT", `A plan named "${patch.name}" already exists`);
        return planView(present(await repos.access.updatePlan(id, patch, clock.now()), "plan"));
      });
    },
    async assignPlan(tenantId: string, planId: string | null) {
      return await repos.tx(async () => {
        if (!(await repos.tenants.byId(tenantId))) throw notFound("Tenant");
        const plan = planId ? await repos.access.planById(planId) : null;
        if (planId && !plan) throw notFound("Plan");
        await repos.access.assignPlan(tenantId, plan ?? null, clock.now());
        return {
          tenantId,
          plan: plan ? planView(plan) : null,
          quotaBytes: present(await repos.tenants.byId(tenantId), "tenant").quotaBytes,
        };
      });
    },
    planOf: async (tenant: TenantRow) =>
      tenant.planId ? ((await repos.access.planById(tenant.planId)) ?? null) : null,
  };
}
export type AccessService = ReturnType<typeof createAccessService>;

/** Helper kept next to the key format so the auth plugin can tell key kinds apart. */
export const isUserKey = (key: string) => key.startsWith(USER_KEY_PREFIX);
