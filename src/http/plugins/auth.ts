import { Elysia } from "elysia";
import { unauthorized } from "../../domain/shared/errors";
import type { KeyScope, TenantRow } from "../../domain/shared/rows";
import { type AccessService, isUserKey, type Principal } from "../../domain/tenants/access.service";
import type { AdminAuthService } from "../../domain/tenants/admin-auth.service";
import type { TenantsService } from "../../domain/tenants/tenants.service";
import { readBody } from "../body-reader";
import type { AdminSessionCheck } from "../console-session";

/** The key of `Authorization: Bearer <key>`, or null. */
export function bearerKey(request: Request): string | null {
  const h = request.headers.get("authorization");
  if (!h) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1] ?? null;
}

/** Resolves the tenant of a Bearer key, or throws UNAUTHORIZED. */
export async function authenticateTenant(tenants: TenantsService, request: Request): Promise<TenantRow> {
  const key = bearerKey(request);
  if (!key) throw unauthorized("Missing Authorization header (expected: Bearer sk_live_...)");
  const tenant = await tenants.authenticate(key);
  if (!tenant) throw unauthorized("Invalid API key");
  return tenant;
}

/**
 * Authentication runs before any body byte is read. Elysia's lifecycle is parse → transform
 * (where `derive` runs) → validation → handler, so a key checked in `derive` comes too late: the
 * body would already be in memory. Each auth plugin therefore registers a parse hook that checks
 * the key first and then reads the body itself, capped (http/body-reader.ts), replacing Elysia's
 * parsers; `derive` hands the already-checked principal to the handler (GET routes have no parse
 * step, so there `derive` is where the key is checked). A caller without a valid key gets 401
 * whatever it sends, and learns nothing about schemas.
 *
 * Streaming routes (upload PUT, storage-module upload) are not under these plugins: they
 * authenticate before they touch `request.body`.
 */
function authFirst<T>(authenticate: (request: Request) => Promise<T>) {
  const seen = new WeakMap<Request, { value: Promise<T> }>();
  /** The one authentication of `request` (memoized: the parse hook and `derive` share it). */
  const once = (request: Request): Promise<T> => {
    let hit = seen.get(request);
    if (!hit) {
      hit = { value: authenticate(request) };
      seen.set(request, hit);
    }
    return hit.value;
  };
  // A scoped hook reaches only the instance that `use`s the plugin, so the hook is registered on
  // the returned plugin itself, never on a nested one.
  const plugin = () =>
    new Elysia().onParse({ as: "scoped" }, async ({ request }, contentType) => {
      await once(request);
      return request.body ? readBody(request, contentType) : undefined;
    });
  return { once, plugin };
}

/** Adds `tenant` to the context of every route after it; 401 UNAUTHORIZED otherwise. */
export function tenantAuth(tenants: TenantsService) {
  const auth = authFirst((request) => authenticateTenant(tenants, request));
  return auth.plugin().derive({ as: "scoped" }, async ({ request }) => ({ tenant: await auth.once(request) }));
}

/**
 * Storage module routes: a user key (`sk_user_...`) acts as that user with its scopes; a tenant
 * key acts as the organization admin with every scope. Adds `principal` to the context.
 */
export function principalAuth(tenants: TenantsService, access: AccessService) {
  const auth = authFirst((request) => authenticatePrincipal(tenants, access, request));
  return auth.plugin().derive({ as: "scoped" }, async ({ request }) => ({ principal: await auth.once(request) }));
}

/** The storage module's principal of a Bearer key (user key or tenant key), or throws UNAUTHORIZED. */
export async function authenticatePrincipal(
  tenants: TenantsService,
  access: AccessService,
  request: Request,
): Promise<Principal> {
  const key = bearerKey(request);
  if (key && isUserKey(key)) {
    const principal = await access.authenticateUserKey(key);
    if (!principal) throw unauthorized("Invalid API key");
    return principal;
  }
  return { tenant: await authenticateTenant(tenants, request), userId: null, workspaceId: null, scopes: ALL_SCOPES };
}
const ALL_SCOPES: ReadonlySet<KeyScope> = new Set(["read", "write", "delete"]);

/**
 * Admin routes: the admin key, checked by the domain (constant-time hash compare) before the body
 * is read (parse hook) or, on routes without a body, in `onTransform`. A tenant key here is just a
 * wrong key: 401 UNAUTHORIZED. With `session`, a request without a key may instead carry a live
 * admin console session cookie (http/console-session.ts).
 */
export function adminAuth(adminAuth: AdminAuthService, session?: AdminSessionCheck) {
  const auth = authFirst(async (request) => {
    const key = bearerKey(request);
    if (!key && session && (await session(request))) return true;
    await adminAuth.verifyAdminKey(key);
    return true;
  });
  return auth.plugin().onTransform({ as: "scoped" }, async ({ request }) => {
    await auth.once(request);
  });
}
