import { useState } from "preact/hooks";
import { admin, api, get, qs } from "../api";
import { bytes, bytesToMb, date, mbToBytes } from "../format";
import { Empty, ErrorNote, Modal, QuotaBar, SecretOnce, toast, useLoad } from "../ui";

export interface Tenant {
  id: string;
  name: string;
  keyPrefix: string;
  quotaBytes: number;
  usedBytes: number;
  reservedBytes: number;
  /** null = any well-formed MIME type. */
  allowedFileTypes: string[] | null;
  createdAt: number;
}

const typesToList = (s: string) =>
  s
    .split(/[\s,]+/)
    .map((x) => x.trim().toLowerCase())
    .filter(Boolean);

export const typesLabel = (types: string[] | null) => (types === null ? "any type" : types.join(", "));

/**
 * Create or edit: name, quota (MB), allowed types. On create, no types = the default image/PDF
 * set; "any type" sends null. On edit, an empty list leaves the types as they are.
 */
export function TenantForm(props: { tenant?: Tenant; onDone: (created?: { apiKey: string; name: string }) => void }) {
  const t = props.tenant;
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const types = typesToList(String(f.get("types") ?? ""));
    const body: Record<string, unknown> = {
      name: String(f.get("name")).trim(),
      quotaBytes: mbToBytes(String(f.get("quota"))),
    };
    if (f.get("any")) body.allowedFileTypes = null;
    else if (types.length) body.allowedFileTypes = types;
    try {
      if (t) {
        await api("PATCH", admin(`/tenants/${t.id}`), body);
        toast("Tenant saved");
        props.onDone();
      } else {
        const r = await api("POST", admin("/tenants"), body);
        props.onDone({ apiKey: r.apiKey, name: r.name });
      }
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <form onSubmit={submit} class="stack">
      <label>
        Name
        <input name="name" required maxLength={100} defaultValue={t?.name} autoFocus />
      </label>
      <label>
        Quota (MB)
        <input name="quota" type="number" min="0" step="any" required defaultValue={t ? bytesToMb(t.quotaBytes) : "500"} />
      </label>
      <label>
        Allowed file types{" "}
        <span class="muted small">
          (MIME types, comma-separated; {t ? "empty = unchanged" : "empty = common images and PDF"})
        </span>
        <input
          name="types"
          defaultValue={t?.allowedFileTypes?.join(", ")}
          placeholder="image/png, image/jpeg, application/pdf"
        />
      </label>
      <label class="check">
        <input type="checkbox" name="any" defaultChecked={t ? t.allowedFileTypes === null : false} /> Accept any file
        type
      </label>
      <ErrorNote error={error} />
      <div class="row end">
        <button type="submit" class="primary">
          {t ? "Save" : "Create tenant"}
        </button>
      </div>
    </form>
  );
}

/** Deleting a tenant deletes its files: the operator types the tenant's name to confirm. */
export function DeleteTenant(props: { tenant: Tenant; onDone: () => void }) {
  const [typed, setTyped] = useState("");
  const [error, setError] = useState<string | null>(null);
  const del = async (e: Event) => {
    e.preventDefault();
    try {
      await api("DELETE", admin(`/tenants/${props.tenant.id}?force=true`));
      toast(`Deleted ${props.tenant.name}`);
      props.onDone();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <form onSubmit={del} class="stack">
      <p>
        This deletes <strong>{props.tenant.name}</strong>, its API key, workspaces and <strong>all its files</strong>{" "}
        ({bytes(props.tenant.usedBytes)}). It cannot be undone.
      </p>
      <label>
        Type the tenant's name to confirm
        <input value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autoFocus autoComplete="off" />
      </label>
      <ErrorNote error={error} />
      <div class="row end">
        <button type="submit" class="danger" disabled={typed !== props.tenant.name}>
          Delete tenant
        </button>
      </div>
    </form>
  );
}

export function RegenerateKey(props: { tenant: Tenant; onDone: () => void }) {
  const [key, setKey] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (key) return <SecretOnce label={`New API key for ${props.tenant.name}`} value={key} />;
  return (
    <div class="stack">
      <p>
        The current key (<code>{props.tenant.keyPrefix}…</code>) stops working at once. Every application using it
        needs the new key.
      </p>
      <ErrorNote error={error} />
      <div class="row end">
        <button
          type="button"
          class="danger"
          onClick={async () => {
            try {
              setKey((await api("POST", admin(`/tenants/${props.tenant.id}/regenerate-key`))).apiKey);
              props.onDone();
            } catch (err) {
              setError((err as Error).message);
            }
          }}
        >
          Regenerate key
        </button>
      </div>
    </div>
  );
}

export function Tenants() {
  const [cursor, setCursor] = useState<string | undefined>();
  const [extra, setExtra] = useState<Tenant[]>([]);
  const { data, error, reload } = useLoad(() => get(admin(`/tenants${qs({ limit: 50 })}`)), []);
  const [modal, setModal] = useState<null | { kind: "create" | "edit" | "delete" | "key"; tenant?: Tenant }>(null);
  const [created, setCreated] = useState<{ apiKey: string; name: string } | null>(null);
  const refresh = () => {
    setExtra([]);
    setCursor(undefined);
    reload();
  };
  const more = async () => {
    const r = await get(admin(`/tenants${qs({ limit: 50, cursor: cursor ?? data?.nextCursor })}`));
    setExtra((x) => [...x, ...r.tenants]);
    setCursor(r.nextCursor ?? "");
  };
  const tenants: Tenant[] = [...(data?.tenants ?? []), ...extra];
  const next = cursor === undefined ? data?.nextCursor : cursor;
  return (
    <section aria-labelledby="t-title">
      <div class="row spread">
        <h1 id="t-title">Tenants</h1>
        <button type="button" class="primary" onClick={() => setModal({ kind: "create" })}>
          New tenant
        </button>
      </div>
      <ErrorNote error={error} />
      {data && tenants.length === 0 && (
        <Empty title="No tenants yet — create one">
          Each tenant gets its own API key, quota and files. Click “New tenant”, then give the key to the application.
        </Empty>
      )}
      <ul class="cards" aria-label="Tenants">
        {tenants.map((t) => (
          <li key={t.id} class="card tenant" data-testid="tenant-row">
            <div class="row spread">
              <a href={`#/tenants/${t.id}/files`} class="title">
                {t.name}
              </a>
              <code class="muted small">{t.keyPrefix}…</code>
            </div>
            <QuotaBar used={t.usedBytes} quota={t.quotaBytes} label={`${t.name} quota`} />
            <p class="muted small">
              Created {date(t.createdAt)} · types: {typesLabel(t.allowedFileTypes)}
            </p>
            <div class="row wrap">
              <a class="button" href={`#/tenants/${t.id}/files`}>
                Files
              </a>
              <a class="button" href={`#/tenants/${t.id}/upload`}>
                Upload
              </a>
              <button type="button" onClick={() => setModal({ kind: "edit", tenant: t })}>
                Edit
              </button>
              <button type="button" onClick={() => setModal({ kind: "key", tenant: t })}>
                Regenerate key
              </button>
              <button type="button" class="danger-ghost" onClick={() => setModal({ kind: "delete", tenant: t })}>
                Delete
              </button>
            </div>
          </li>
        ))}
      </ul>
      {next && (
        <button type="button" onClick={more}>
          Load more
        </button>
      )}
      {modal?.kind === "create" && (
        <Modal title={created ? "Tenant created" : "New tenant"} onClose={() => (setModal(null), setCreated(null), refresh())}>
          {created ? (
            <SecretOnce label={`API key for ${created.name}`} value={created.apiKey} />
          ) : (
            <TenantForm onDone={(c) => setCreated(c!)} />
          )}
        </Modal>
      )}
      {modal?.kind === "edit" && (
        <Modal title={`Edit ${modal.tenant!.name}`} onClose={() => setModal(null)}>
          <TenantForm tenant={modal.tenant} onDone={() => (setModal(null), refresh())} />
        </Modal>
      )}
      {modal?.kind === "delete" && (
        <Modal title={`Delete ${modal.tenant!.name}?`} onClose={() => setModal(null)}>
          <DeleteTenant tenant={modal.tenant!} onDone={() => (setModal(null), refresh())} />
        </Modal>
      )}
      {modal?.kind === "key" && (
        <Modal title={`Regenerate key of ${modal.tenant!.name}`} onClose={() => (setModal(null), refresh())}>
          <RegenerateKey tenant={modal.tenant!} onDone={() => {}} />
        </Modal>
      )}
    </section>
  );
}
