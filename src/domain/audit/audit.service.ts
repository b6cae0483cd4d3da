import type { AuditFilter, AuditRepo } from "../../db/repos/audit.repo";
import type { AuditActorType, AuditRow } from "../../db/schema";
import type { Clock } from "../shared/clock";
import { keysetPage } from "../shared/cursor";

/** Who acted: the admin key, a tenant key (id = tenant id), a user key (id = key id), or the CLI. */
export interface AuditActor {
  type: AuditActorType;
  id?: string | null;
}

/**
 * One audit entry. `action` is a dotted verb (`tenant.create`, `tenant.key.regenerate`,
 * `master-key.rotate`, `workspace.migrate`, ...); `target` names the object (`tenant/<id>`,
 * `tenant/<id>/file/<id>`); `tenantId` is what the list filters on. `details` must never hold a
 * secret: use redact() on anything that came from a request.
 */
export interface AuditEntry {
  actor: AuditActor;
  action: string;
  target?: string | null;
  tenantId?: string | null;
  address?: string | null;
  details?: Record<string, unknown> | null;
}

const SECRET_FIELD = /key|secret|token|password/i;

/** A copy of a request body fit for the audit log: secret-looking fields are dropped. */
export function redact(body: unknown): Record<string, unknown> | null {
  if (!body || typeof body !== "object" || Array.isArray(body)) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (!SECRET_FIELD.test(k)) out[k] = v;
  return Object.keys(out).length ? out : null;
}

export function auditView(r: AuditRow) {
  return {
    id: r.id,
    createdAt: new Date(r.createdAt).toISOString(),
    actor: { type: r.actorType, id: r.actorId },
    action: r.action,
    target: r.target,
    tenantId: r.tenantId,
    address: r.address,
    details: r.details,
  };
}

/** The audit trail of admin actions and key changes (docs/architecture.md, "Audit log"). */
export function createAuditService(deps: { audit: AuditRepo; clock: Clock }) {
  return {
    async record(e: AuditEntry): Promise<void> {
      await deps.audit.insert({
        // UUIDv7: time-ordered and monotonic within the process, so rows written in the same
        // millisecond still list in the order they happened.
        id: Bun.randomUUIDv7(),
        createdAt: deps.clock.now(),
        actorType: e.actor.type,
        actorId: e.actor.id ?? null,
        action: e.action,
        target: e.target ?? null,
        tenantId: e.tenantId ?? null,
        address: e.address ?? null,
        details: e.details ?? null,
      });
    },
    async list(filter: AuditFilter, limit: number, cursor?: string) {
      const { items, nextCursor } = await keysetPage(limit, cursor, (n, after) => deps.audit.page(filter, n, after));
      return { entries: items.map(auditView), nextCursor };
    },
  };
}
export type AuditService = ReturnType<typeof createAuditService>;
