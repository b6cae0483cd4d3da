import { api, download } from "./ops-client";

export interface TenantAccess {
  id: string;
  apiKey: string;
}

/**
 * What a deployment's API answers to reads, as one comparable object keyed "<who> <path>":
 * the admin's tenant list, plans, quotas, usage and audit trail; each tenant's profile, quota,
 * file list, every file, contexts, workspaces, user keys, webhooks and deliveries; and the SHA-256
 * of every completed file's download. Two deployments holding the same data (e.g. one before and
 * one after `db copy`) must give equal objects.
 */
export async function apiAnswers(base: string, adminKey: string, tenants: Record<string, TenantAccess>) {
  const out: Record<string, { status: number; body: unknown }> = {};
  const get = async (who: string, path: string, key: string) => {
    const r = await api(base, "GET", path, key);
    out[`${who} GET ${path}`] = r;
    return r.body;
  };
  for (const path of [
    "/api/v1/admin/tenants?limit=100",
    "/api/v1/admin/plans",
    "/api/v1/admin/usage?days=30",
    "/api/v1/admin/audit?limit=100",
  ])
    await get("admin", path, adminKey);
  for (const [who, t] of Object.entries(tenants)) {
    await get("admin", `/api/v1/admin/tenants/${t.id}/quota`, adminKey);
    await get("admin", `/api/v1/admin/tenants/${t.id}/webhooks`, adminKey);
    for (const path of [
      "/api/v1/tenant",
      "/api/v1/tenant/quota",
      "/api/v1/tenant/keys",
      "/api/v1/files/contexts",
      "/api/v1/workspaces",
      "/api/v1/webhooks",
      "/api/v1/webhooks/deliveries",
    ])
      await get(who, path, t.apiKey);
    const list = (await get(who, "/api/v1/files?limit=100", t.apiKey)) as { files?: { id: string }[] };
    for (const { id } of list.files ?? []) {
      await get(who, `/api/v1/files/${id}`, t.apiKey);
      const bytes = await download(base, t.apiKey, id);
      out[`${who} download ${id}`] = {
        status: bytes ? 200 : 0,
        body: bytes && new Bun.CryptoHasher("sha256").update(bytes).digest("hex"),
      };
    }
  }
  return out;
}
