import { Elysia } from "elysia";
import { unauthorized } from "../../domain/shared/errors";
import type { KeyScope, TenantRow } from "../../domain/shared/rows";
import { type AccessService, isUserKey, type Principal } from "../../domain/tenants/access.service";
import type { AdminAuthService } from "../../domain/tenants/admin-auth.service";
import type { TenantsService } from "../../domain/tenants/tenants.service";

/** The key of `Authorization: Bearer <key>`, or null. */
export function bearerKey(request: Request): string | null {
  const h = request.headers.get("authorization");
  if (!h) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : null;
}

/** Resolves the tenant of a Bearer key, or throws UNAUTHORIZED. */
export function authenticateTenant(tenants: TenantsService, request: Request): TenantRow {
  const key = bearerKey(request);
  if (!key) throw unauthorized("Missing Authorization header (expected: Bearer sk_live_...)");
  const tenant = tenants.authenticate(key);
  if (!tenant) throw unauthorized("Invalid API key");
  return tenant;
}

/**
 * Adds `tenant` to the context of every route after it; 401 UNAUTHORIZED otherwise. `derive`
 * (not `resolve`) so the key is checked before the body is validated: a caller without a key
 * learns nothing about schemas and gets 401, not 400.
 */
export function tenantAuth(tenants: TenantsService) {
  return new Elysia().derive({ as: "scoped" }, ({ request }) => ({ tenant: authenticateTenant(tenants, request) }));
}

/**
 * Storage module routes: a user key (`sk_user_...`) acts as that user with its scopes; a tenant
 * key acts as the organization admin with every scope. Adds `principal` to the context.
 */
export function principalAuth(tenants: TenantsService, access: AccessService) {
  return new Elysia().derive({ as: "scoped" }, ({ request }) => {
    const key = bearerKey(request);
    if (key && isUserKey(key)) {
      const principal = access.authenticateUserKey(key);
      if (!principal) throw unauthorized("Invalid API key");
      return { principal };
    }
    const principal: Principal = {
      tenant: authenticateTenant(tenants, request),
      userId: null,
      workspaceId: null,
      scopes: ALL_SCOPES,
    };
    return { principal };
  });
}
const ALL_SCOPES: ReadonlySet<KeyScope> = new Set(["read", "write", "delete"]);

/**
 * Admin routes: the admin key, checked by the domain (constant-time hash compare) in `onTransform`,
 * before the body is validated. A tenant key here is just a wrong key: 401 UNAUTHORIZED.
 */
export function adminAuth(adminAuth: AdminAuthService) {
  return new Elysia().onTransform({ as: "scoped" }, ({ request }) => adminAuth.verifyAdminKey(bearerKey(request)));
}
