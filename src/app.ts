import { randomUUID } from "node:crypto";
import { swagger } from "@elysiajs/swagger";
import { Elysia } from "elysia";
import type { Config } from "./config/schema";
import type { Repos } from "./db/repos";
import type { FileRow } from "./db/schema";
import { createAdminStatsService } from "./domain/admin/admin-stats.service";
import { createConsoleSessionsService } from "./domain/admin/console-sessions.service";
import { createAuditService } from "./domain/audit/audit.service";
import { createFilesService } from "./domain/files/files.service";
import { MemoryRateLimitStore } from "./domain/limits/rate-limit-store";
import { createRateLimits, rateLimitSettings } from "./domain/limits/rate-limits";
import { SharedRateLimitStore } from "./domain/limits/shared-rate-limit-store";
import { UploadSlots } from "./domain/limits/upload-slots";
import type { Metrics } from "./domain/ops/metrics";
import type { Clock } from "./domain/shared/clock";
import { ERROR_STATUS } from "./domain/shared/errors";
import { createHealthService } from "./domain/shared/health.service";
import { UrlSigner } from "./domain/shared/url-signer";
import { createStorageModuleService } from "./domain/storage-module/storage-module.service";
import type { Principal } from "./domain/tenants/access.service";
import { createAccessService } from "./domain/tenants/access.service";
import { createAdminAuthService } from "./domain/tenants/admin-auth.service";
import { createTenantsService } from "./domain/tenants/tenants.service";
import { recalculateUsage } from "./domain/tenants/usage";
import { webhookSecretBox } from "./domain/tenants/webhook-secrets";
import { createTusService } from "./domain/uploads/tus.service";
import type { UploadLocks } from "./domain/uploads/upload-locks";
import { createUploadPipeline, type SettleEvents } from "./domain/uploads/upload-pipeline";
import { createUploadsService } from "./domain/uploads/uploads.service";
import { createWebhooksService } from "./domain/webhooks/webhooks.service";
import { createWorkspacesService } from "./domain/workspaces/workspaces.service";
import { rateLimitAddress } from "./http/client-address";
import { consoleSessionCheck } from "./http/console-session";
import { errorHandler } from "./http/error-handler";
import { cors } from "./http/plugins/cors";
import { docsUi } from "./http/plugins/docs-ui";
import { rateLimitGate } from "./http/plugins/rate-limit";
import { routeTemplateRecorder } from "./http/request-metrics";
import { pathOf } from "./http/request-path";
import { adminRoutes } from "./http/routes/admin.routes";
import { adminInsightsRoutes } from "./http/routes/admin-insights.routes";
import { adminPlansRoutes } from "./http/routes/admin-plans.routes";
import { adminSessionRoutes } from "./http/routes/admin-session.routes";
import { auditRoutes } from "./http/routes/audit.routes";
import { consoleRoutes } from "./http/routes/console.routes";
import { filesRoutes } from "./http/routes/files.routes";
import { healthRoutes } from "./http/routes/health.routes";
import { metricsRoutes } from "./http/routes/metrics.routes";
import { storageRoutes } from "./http/routes/storage.routes";
import { tenantRoutes } from "./http/routes/tenant.routes";
import { TUS_REQUEST_HEADERS, TUS_RESPONSE_HEADERS, tusDiscovery, tusRoutes } from "./http/routes/tus.routes";
import { uploadRoutes } from "./http/routes/upload.routes";
import { webhooksRoutes } from "./http/routes/webhooks.routes";
import { workspacesRoutes } from "./http/routes/workspaces.routes";
import type { Logger } from "./logger";
import { tenantObjectPrefix } from "./storage/backend";
import type { EncryptedObjects } from "./storage/encrypted-objects";
import type { MasterKeyring } from "./storage/keyring";
import { ResumableObjects } from "./storage/resumable-objects";
import { VERSION } from "./version";

export interface AppDeps {
  config: Config;
  repos: Repos;
  objects: EncryptedObjects;
  masterKey: MasterKeyring;
  metrics: Metrics;
  clock: Clock;
  logger: Logger;
  /** Locks on tus uploads shared with the other instances (PostgreSQL); in-process only when absent. */
  uploadLocks?: UploadLocks;
}

/** Every service, wired once from the dependencies (also used by the CLI and jobs). */
export function createServices(deps: AppDeps) {
  const { config, repos, objects, clock, logger } = deps;
  const signer = new UrlSigner(
    config.URL_SIGNING_SECRET ?? deps.masterKey.derive("url-signing"),
    config.URL_SIGNING_SECRET_PREVIOUS ? [config.URL_SIGNING_SECRET_PREVIOUS] : [],
  );
  const tenants = createTenantsService({
    tenants: repos.tenants,
    liveFileCount: (id) => repos.files.total({ tenantId: id }),
    deleteTenantObjects: async (id) => {
      for (const key of await repos.fileSweeps.unpurgedKeys(id)) await objects.backend.delete(key);
      for await (const key of objects.backend.list(tenantObjectPrefix(id))) await objects.backend.delete(key);
    },
    recalculateUsage: (id) => recalculateUsage(repos, id),
    secrets: webhookSecretBox(deps.masterKey),
    clock,
  });
  const workspaces = createWorkspacesService({ repos, clock });
  const files = createFilesService({ repos, objects, signer, clock, publicUrl: config.publicUrl, logger });
  // The webhook sender is started by jobs/; until then (tests, CLI) waking it is a no-op.
  const webhookWaker = { wake: () => {} };
  const webhooks = createWebhooksService({
    repos,
    clock,
    allowPrivateNetworks: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    wake: () => webhookWaker.wake(),
  });
  /** The webhook event and the metric of a settled upload (domain/uploads/upload-pipeline.ts). */
  const settleEvents: SettleEvents = {
    prepare: (f, status) => webhooks.prepareFileEvent(f, status),
    committed: (f) => deps.metrics.uploadSettled(f),
  };
  /**
   * Runs inside the transaction that settles a file some other way (expired, interrupted): the
   * outbox row is part of it; the metric counts only once it has committed.
   */
  const onFileSettled = async (f: FileRow) => {
    await webhooks.enqueueFileEvent(f);
    repos.afterCommit(() => settleEvents.committed(f));
  };
  const pipeline = createUploadPipeline({
    repos,
    objects,
    clock,
    logger,
    settleEvents,
    idleTimeoutMs: config.UPLOAD_IDLE_TIMEOUT_MS,
  });
  const uploads = createUploadsService({
    repos,
    objects,
    pipeline,
    signer,
    clock,
    uploadExpirySeconds: config.UPLOAD_EXPIRY_SECONDS,
    assertWebhookUrl: (url) => webhooks.assertTargetUrl(url, "webhookUrl"),
  });
  const access = createAccessService({ repos, clock });
  const storage = createStorageModuleService({
    repos,
    objects,
    pipeline,
    files,
    access,
    clock,
    uploadExpirySeconds: config.UPLOAD_EXPIRY_SECONDS,
  });
  const audit = createAuditService({ audit: repos.audit, clock });
  const tus = createTusService({
    repos,
    resumable: new ResumableObjects(objects.backend, deps.masterKey, objects),
    locks: deps.uploadLocks,
    pipeline,
    clock,
    logger,
    maxSize: config.TUS_MAX_SIZE,
    expirySeconds: config.TUS_EXPIRY_SECONDS,
    publicBase: config.PUBLIC_URL ? config.publicUrl : null,
  });
  // One slot per streaming upload, taken before its body is read (domain/limits/upload-slots.ts);
  // wrapped here so the three upload paths share one count per tenant.
  const uploadSlots = new UploadSlots(config.MAX_CONCURRENT_UPLOADS_PER_TENANT);
  const slotted = {
    uploads: {
      ...uploads,
      receive: (o: Parameters<typeof uploads.receive>[0]) => uploadSlots.run(o.tenantId, () => uploads.receive(o)),
    },
    storage: {
      ...storage,
      upload: (p: Principal, i: Parameters<typeof storage.upload>[1]) =>
        uploadSlots.run(p.tenant.id, () => storage.upload(p, i)),
    },
    tus: {
      ...tus,
      append: (p: Principal, id: string, i: Parameters<typeof tus.append>[2]) =>
        uploadSlots.run(p.tenant.id, () => tus.append(p, id, i)),
    },
  };
  const rateLimits = createRateLimits({
    // Shared by the instances on PostgreSQL; one process on SQLite keeps them in memory.
    store: repos.dialect === "pg" ? new SharedRateLimitStore(repos.rateLimits, logger) : new MemoryRateLimitStore(),
    clock,
    settings: rateLimitSettings(config),
  });
  const health = createHealthService({ repos, backend: objects.backend });
  const adminAuth = createAdminAuthService({ settings: repos.settings });
  const consoleSessions = createConsoleSessionsService({ repos, clock });
  const adminStats = createAdminStatsService({
    repos,
    clock,
    version: VERSION,
    startedAt: clock.now(),
    backend: objects.backend,
  });
  return {
    clock,
    signer,
    health,
    adminAuth,
    tenants,
    workspaces,
    files,
    uploads: slotted.uploads,
    uploadSlots,
    rateLimits,
    webhooks,
    webhookWaker,
    onFileSettled,
    metrics: deps.metrics,
    metricsToken: config.METRICS_TOKEN ?? null,
    pipeline,
    access,
    storage: slotted.storage,
    audit,
    tus: slotted.tus,
    consoleSessions,
    adminStats,
  };
}
export type Services = ReturnType<typeof createServices>;

/** Wraps the app's fetch with one JSON access-log line per request (status and time as sent). */
export function withAccessLog(fetch: (req: Request) => Promise<Response> | Response, logger: Logger) {
  return async (request: Request): Promise<Response> => {
    const at = performance.now();
    const res = await fetch(request);
    logger.info("request", {
      requestId: res.headers.get("x-request-id"),
      method: request.method,
      path: pathOf(request.url),
      status: res.status,
      ms: Math.round((performance.now() - at) * 10) / 10,
    });
    return res;
  };
}

/** The error table as the /docs page shows it (generated, so it can't drift from the code). */
function errorTableMarkdown(): string {
  const rows = Object.entries(ERROR_STATUS).map(([code, status]) => `| \`${code}\` | ${status} |`);
  return [
    'Every error is `{"error":{"code","message","details"}}`; the status follows from the code.',
    "`INSUFFICIENT_STORAGE` (507) means the server's disk is full: nothing was stored or charged, and the same upload URL can be retried once space returns.",
    "",
    "| code | status |",
    "|---|---|",
    ...rows,
  ].join("\n");
}

function errorSchema() {
  return {
    type: "object" as const,
    required: ["error"],
    properties: {
      error: {
        type: "object" as const,
        required: ["code", "message", "details"],
        properties: {
          code: { type: "string" as const, enum: Object.keys(ERROR_STATUS) },
          message: { type: "string" as const },
          details: { type: "object" as const },
        },
      },
    },
  };
}

/** Builds the HTTP app. It never listens: `main.ts` serves it, tests call `app.handle()`. */
export function createApp(deps: AppDeps, services: Services = createServices(deps)) {
  const { config, logger } = deps;
  // On admin routes the admin console's session cookie stands in for the admin key (CSRF-checked).
  const routes = { ...services, adminSession: consoleSessionCheck(services.consoleSessions, config.publicUrl) };

  // TypeBox normalization: see routeConfig in http/schemas.ts (Elysia's default accepts "x" for an object).
  return (
    new Elysia({ normalize: "typebox" })
      .use(
        errorHandler(logger, {
          onUnauthorized: (request) => services.rateLimits.failed(rateLimitAddress(request, config.TRUST_PROXY)),
        }),
      )
      .use(routeTemplateRecorder())
      .onRequest(({ request, set }) => {
        // A caller's id (a proxy's) is kept if sane, so logs line up across hops.
        const given = request.headers.get("x-request-id");
        set.headers["x-request-id"] = given && /^[\w.:-]{1,64}$/.test(given) ? given : randomUUID();
        // Bodies are read only after authentication, capped by bytes read: see http/body-reader.ts.
      })
      .use(rateLimitGate(services.rateLimits, config.TRUST_PROXY))
      .use(tusDiscovery(config.TUS_MAX_SIZE))
      .use(
        cors({
          origins: config.corsOrigins,
          methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
          allowedHeaders: [
            "Authorization",
            "Content-Type",
            "X-Workspace-Id",
            "Range",
            "If-None-Match",
            "X-Request-Id",
            ...TUS_REQUEST_HEADERS,
          ],
          exposeHeaders: [
            "ETag",
            "Content-Range",
            "Content-Disposition",
            "Content-Length",
            "Accept-Ranges",
            "X-Request-Id",
            // Rate limits (docs/security.md): a browser client can back off too.
            "Retry-After",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            ...TUS_RESPONSE_HEADERS,
          ],
          maxAgeSeconds: 600,
        }),
      )
      .use(docsUi())
      .use(
        swagger({
          path: "/docs",
          documentation: {
            tags: [
              {
                name: "upload",
                description:
                  "Two-step upload (request a presigned URL, then PUT the bytes), and resumable tus 1.0 uploads at /api/v1/uploads/tus",
              },
              { name: "files", description: "List, read, download, sign and delete files" },
              { name: "workspaces", description: "Partitions of a tenant's files with their own quotas" },
              { name: "tenant", description: "The authenticated tenant" },
              { name: "webhooks", description: "Default endpoints and delivery log" },
              {
                name: "admin",
                description:
                  "Admin key only (or the admin console's session cookie from POST /api/v1/admin/session; state-changing cookie requests must come from the server's own origin)",
              },
              {
                name: "storage",
                description:
                  "Storage API module (organization = tenant). Buckets: 'default' (files in no workspace) plus one per workspace, named by its slug. Objects are addressed by their unique stored name {original}_{YYYYMMDD_HHMMSS}_{uuid8}.{ext} inside the caller's folder organizations/{org}/files/{user}/. User-scoped keys (POST /api/v1/tenant/keys) see only their own folder; the tenant key acts as organization admin and names another user's folder with ?userId=.",
              },
            ],
            info: {
              title: "Storage Brain",
              version: VERSION,
              description: `Self-hosted multi-tenant file storage: encrypted uploads, signed downloads, quotas, webhooks.\n\n${errorTableMarkdown()}`,
            },
            components: {
              schemas: { Error: errorSchema() },
              securitySchemes: {
                bearerAuth: {
                  type: "http",
                  scheme: "bearer",
                  description: "Tenant key (sk_live_...) or, on /api/v1/admin, the admin key",
                },
              },
            },
          },
        }),
      )
      // Every route module takes the same thing: the services (each names the part it uses), plus
      // the console session check for admin routes.
      .use(healthRoutes(routes))
      .use(consoleRoutes())
      .use(adminSessionRoutes(routes))
      .use(adminRoutes(routes))
      .use(adminInsightsRoutes(routes))
      .use(tenantRoutes(routes))
      .use(workspacesRoutes(routes))
      .use(webhooksRoutes(routes))
      .use(adminPlansRoutes(routes))
      .use(auditRoutes(routes))
      .use(metricsRoutes(routes))
      .use(storageRoutes(routes))
      .use(uploadRoutes(routes))
      .use(tusRoutes(routes))
      .use(filesRoutes(routes))
  );
}
