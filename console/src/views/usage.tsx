import { get } from "../api";
import { DayChart, Empty, ErrorNote, HBarChart, useLoad } from "../ui";

export function Usage() {
  const { data: u, error } = useLoad(() => get("/api/v1/admin/usage?days=30"), []);
  if (!u) return error ? <ErrorNote error={error} /> : <p class="muted">Loading…</p>;
  const tenantName = (id: string) => u.tenants.find((t: { id: string }) => t.id === id)?.name ?? "?";
  return (
    <section aria-labelledby="u-title" class="stack">
      <h1 id="u-title">Usage</h1>
      <div class="card">
        <h2>Stored bytes per tenant</h2>
        {u.tenants.length ? (
          <HBarChart
            label="Stored bytes per tenant"
            items={u.tenants.map((t: any) => ({ name: t.name, value: t.usedBytes, max: t.quotaBytes }))}
          />
        ) : (
          <Empty title="No tenants yet">
            <a href="#/tenants">Create one</a> and its usage shows here.
          </Empty>
        )}
      </div>
      <div class="card">
        <h2>Stored bytes per workspace</h2>
        {u.workspaces.length ? (
          <HBarChart
            label="Stored bytes per workspace"
            items={u.workspaces.map((w: any) => ({
              name: `${tenantName(w.tenantId)} / ${w.name}`,
              value: w.usedBytes,
              max: w.quotaBytes,
            }))}
          />
        ) : (
          <Empty title="No workspaces yet" />
        )}
      </div>
      <div class="card">
        <h2>Uploads per day (last 30 days, UTC)</h2>
        <DayChart label="Completed uploads per day" days={u.uploadsPerDay} />
      </div>
    </section>
  );
}
