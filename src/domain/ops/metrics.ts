import client from "prom-client";
import type { OpsRepo } from "../../db/repos/ops.repo";
import type { FileRow } from "../../db/schema";
import type { Clock } from "../shared/clock";

/**
 * Prometheus metrics (prom-client: runs on Bun, incl. its event-loop-delay monitor, checked in
 * test/ops/metrics.test.ts). One registry per process, created with the runtime and passed in;
 * nothing registers on prom-client's global registry, so tests can build several apps.
 *
 * Label rules: HTTP metrics are labelled by route *template* (`/api/v1/files/:fileId`), never
 * the raw path, so ids can't explode cardinality; requests matching no route share
 * `route="unmatched"`. Per-tenant gauges are labelled by tenant id (one series per tenant).
 * Gauges that mirror the database (quota, webhook queue, job lag) are read at scrape time.
 */
export interface MetricsDeps {
  ops: OpsRepo;
  clock: Clock;
  version: string;
  backend: string;
  database: string;
  /** Each background job's due-but-undone work (jobs/backlog.ts), measured at scrape time. */
  backlogs: () => Promise<Record<string, { count: number; oldestOverdueMs: number }>>;
}

export function createMetrics(deps: MetricsDeps) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const r = [registry];

  new client.Gauge({
    name: "storage_brain_build_info",
    help: "Build and runtime facts; always 1",
    labelNames: ["version", "backend", "database"],
    registers: r,
  }).set({ version: deps.version, backend: deps.backend, database: deps.database }, 1);

  const labels = ["method", "route", "status"] as const;
  const requests = new client.Counter({
    name: "http_requests_total",
    help: "HTTP requests by route template and status",
    labelNames: labels,
    registers: r,
  });
  const duration = new client.Histogram({
    name: "http_request_duration_seconds",
    help: "Time to the response headers, by route template and status",
    labelNames: labels,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: r,
  });
  const bytesUp = new client.Counter({
    name: "storage_uploaded_bytes_total",
    help: "Plaintext bytes stored by uploads",
    registers: r,
  });
  const bytesDown = new client.Counter({
    name: "storage_downloaded_bytes_total",
    help: "Plaintext bytes sent by downloads",
    registers: r,
  });
  const uploads = new client.Counter({
    name: "storage_uploads_total",
    help: "Uploads settled, by outcome (completed, failed, expired) and failure reason",
    labelNames: ["outcome", "reason"],
    registers: r,
  });
  const backendErrors = new client.Counter({
    name: "storage_backend_errors_total",
    help: "Storage backend operations that threw, by operation",
    labelNames: ["operation"],
    registers: r,
  });
  const webhookAttempts = new client.Counter({
    name: "webhook_deliveries_total",
    help: "Webhook delivery attempts by outcome (delivered, retry, dead)",
    labelNames: ["outcome"],
    registers: r,
  });

  new client.Gauge({
    name: "storage_tenant_used_bytes",
    help: "Bytes charged to each tenant",
    labelNames: ["tenant"],
    registers: r,
    async collect() {
      this.reset();
      for (const t of await deps.ops.tenantUsage()) this.set({ tenant: t.id }, t.used);
    },
  });
  new client.Gauge({
    name: "storage_tenant_reserved_bytes",
    help: "Bytes reserved by each tenant's uploads in progress",
    labelNames: ["tenant"],
    registers: r,
    async collect() {
      this.reset();
      for (const t of await deps.ops.tenantUsage()) this.set({ tenant: t.id }, t.reserved);
    },
  });
  new client.Gauge({
    name: "webhook_queue_depth",
    help: "Webhook deliveries waiting to be sent (due now or backing off)",
    registers: r,
    async collect() {
      this.set((await deps.ops.webhookQueue(deps.clock.now())).pending);
    },
  });
  // One backlog measurement per scrape feeds both gauges (the second collect reuses the first's).
  let backlog: { at: number; value: ReturnType<MetricsDeps["backlogs"]> } | null = null;
  const backlogs = () => {
    const now = performance.now();
    if (!backlog || now - backlog.at > 1000) backlog = { at: now, value: deps.backlogs() };
    return backlog.value;
  };
  new client.Gauge({
    name: "storage_job_lag_seconds",
    help: "Per job, how long its oldest due item has been overdue (0 when caught up)",
    labelNames: ["job"],
    registers: r,
    async collect() {
      for (const [job, b] of Object.entries(await backlogs())) this.set({ job }, b.oldestOverdueMs / 1000);
    },
  });
  new client.Gauge({
    name: "storage_job_backlog_items",
    help: "Per job, items due and not yet done",
    labelNames: ["job"],
    registers: r,
    async collect() {
      for (const [job, b] of Object.entries(await backlogs())) this.set({ job }, b.count);
    },
  });

  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    request(method: string, route: string, status: number, seconds: number) {
      const l = { method, route, status: String(status) };
      requests.inc(l);
      duration.observe(l, seconds);
    },
    bytesUploaded: (n: number) => bytesUp.inc(n),
    bytesDownloaded: (n: number) => bytesDown.inc(n),
    backendError: (operation: string) => backendErrors.inc({ operation }),
    webhookAttempt: (outcome: "delivered" | "retry" | "dead") => webhookAttempts.inc({ outcome }),
    /** A file reached a final state (hooked where uploads settle, in the same places as webhooks). */
    uploadSettled(f: FileRow) {
      if (f.processingStatus === "completed") return uploads.inc({ outcome: "completed", reason: "" });
      const reason = (f.metadata as { failureReason?: string } | null)?.failureReason ?? "unknown";
      uploads.inc(reason === "expired" ? { outcome: "expired", reason: "" } : { outcome: "failed", reason });
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
