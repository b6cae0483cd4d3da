import { admin, get } from "../api";
import { ErrorNote, QuotaBar, useLoad } from "../ui";
import { Files } from "./files";
import { UploadPanel } from "./upload";
import { Webhooks } from "./webhooks";
import { Workspaces } from "./workspaces";

const TABS = [
  ["files", "Files"],
  ["upload", "Upload"],
  ["workspaces", "Workspaces"],
  ["webhooks", "Webhooks"],
] as const;

/** One tenant: its quota and the tabs acting on its behalf through the admin API. */
export function TenantPage({ id, tab }: { id: string; tab: string }) {
  const { data: t, error, reload } = useLoad(() => get(admin(`/tenants/${id}`)), [id]);
  const ws = useLoad(() => get(admin(`/tenants/${id}/workspaces`)), [id]);
  if (!t) return error ? <ErrorNote error={error} /> : <p class="muted">Loading…</p>;
  const workspaces = ws.data?.workspaces ?? [];
  const changed = () => (reload(), ws.reload());
  return (
    <section aria-labelledby="tenant-title">
      <p class="small">
        <a href="#/tenants">← Tenants</a>
      </p>
      <h1 id="tenant-title">{t.name}</h1>
      <div class="card" data-testid="tenant-quota">
        <QuotaBar used={t.quota.usedBytes} quota={t.quota.quotaBytes} label={`${t.name} quota`} />
      </div>
      <nav class="tabs" aria-label="Tenant sections">
        {TABS.map(([k, label]) => (
          <a key={k} href={`#/tenants/${id}/${k}`} aria-current={tab === k ? "page" : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {tab === "upload" ? (
        <UploadPanel tenantId={id} workspaces={workspaces} allowed={t.allowedFileTypes} onUploaded={changed} />
      ) : tab === "workspaces" ? (
        <Workspaces tenantId={id} workspaces={workspaces} error={ws.error} onChanged={changed} />
      ) : tab === "webhooks" ? (
        <Webhooks tenantId={id} />
      ) : (
        <Files tenantId={id} workspaces={workspaces} allowed={t.allowedFileTypes} onChanged={changed} />
      )}
    </section>
  );
}
