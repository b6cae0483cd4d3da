import { get } from "../api";
import { bytes, duration } from "../format";
import { ErrorNote, useLoad } from "../ui";

export function Overview() {
  const { data: o, error } = useLoad(() => get("/api/v1/admin/overview"), []);
  if (!o) return error ? <ErrorNote error={error} /> : <p class="muted">Loading…</p>;
  const stat = (label: string, value: string | number, testid: string, note?: string) => (
    <div class="stat card" data-testid={testid}>
      <span class="muted">{label}</span>
      <strong>{value}</strong>
      {note && <span class="muted small">{note}</span>}
    </div>
  );
  return (
    <section aria-labelledby="ov-title">
      <h1 id="ov-title">Overview</h1>
      {o.tenants === 0 && (
        <div class="card callout">
          <strong>No tenants yet.</strong> A tenant is one application or customer with its own API key and quota.{" "}
          <a href="#/tenants">Create the first tenant →</a>
        </div>
      )}
      <div class="stats">
        {stat("Tenants", o.tenants, "stat-tenants")}
        {stat("Files", o.files, "stat-files")}
        {stat("Stored", bytes(o.storedBytes), "stat-bytes")}
        {stat("Uploads, last 24 h", o.uploadsLast24h, "stat-uploads")}
        {stat(
          "Failed webhook deliveries",
          o.failedWebhookDeliveries,
          "stat-failed",
          o.failedWebhookDeliveries ? "Retry them from a tenant's Webhooks tab" : undefined,
        )}
        {stat(
          "Storage backend",
          o.backend.name,
          "stat-backend",
          o.backend.status === "ok" ? "● healthy" : "● unavailable",
        )}
        {stat("Version", o.version, "stat-version")}
        {stat("Uptime", duration(o.uptimeSeconds), "stat-uptime")}
      </div>
    </section>
  );
}
