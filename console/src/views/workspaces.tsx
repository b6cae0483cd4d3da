import { useState } from "preact/hooks";
import { admin, api } from "../api";
import { bytesToMb, mbToBytes } from "../format";
import { Empty, ErrorNote, Modal, QuotaBar, toast } from "../ui";

interface Workspace {
  id: string;
  name: string;
  slug: string;
  quotaBytes: number | null;
  usedBytes: number;
}

function WorkspaceForm(props: { tenantId: string; ws?: Workspace; onDone: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const w = props.ws;
  return (
    <form
      class="stack"
      onSubmit={async (e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        const quota = String(f.get("quota")).trim();
        const body: Record<string, unknown> = {
          name: String(f.get("name")).trim(),
          quotaBytes: quota === "" ? null : mbToBytes(quota),
        };
        if (!w) body.slug = String(f.get("slug")).trim();
        try {
          if (w) await api("PATCH", admin(`/tenants/${props.tenantId}/workspaces/${w.id}`), body);
          else await api("POST", admin(`/tenants/${props.tenantId}/workspaces`), body);
          toast(w ? "Workspace saved" : "Workspace created");
          props.onDone();
        } catch (err) {
          setError((err as Error).message);
        }
      }}
    >
      <label>
        Name
        <input name="name" required maxLength={255} defaultValue={w?.name} autoFocus />
      </label>
      {!w && (
        <label>
          Slug <span class="muted small">(lowercase letters, digits and dashes)</span>
          <input name="slug" required pattern="[a-z0-9]+(-[a-z0-9]+)*" maxLength={100} />
        </label>
      )}
      <label>
        Quota (MB) <span class="muted small">(empty = only the tenant's quota applies)</span>
        <input name="quota" type="number" min="0" step="any" defaultValue={w?.quotaBytes == null ? "" : bytesToMb(w.quotaBytes)} />
      </label>
      <ErrorNote error={error} />
      <div class="row end">
        <button type="submit" class="primary">
          {w ? "Save" : "Create workspace"}
        </button>
      </div>
    </form>
  );
}

export function Workspaces(props: {
  tenantId: string;
  workspaces: Workspace[];
  error: string | null;
  onChanged: () => void;
}) {
  const [modal, setModal] = useState<null | { ws?: Workspace }>(null);
  return (
    <div class="stack">
      <div class="row spread">
        <h2>Workspaces</h2>
        <button type="button" class="primary" onClick={() => setModal({})}>
          New workspace
        </button>
      </div>
      <ErrorNote error={props.error} />
      {props.workspaces.length === 0 && (
        <Empty title="No workspaces">
          Workspaces split a tenant's files (for example per project or customer), each with an optional quota of its own.
        </Empty>
      )}
      <ul class="cards" aria-label="Workspaces">
        {props.workspaces.map((w) => (
          <li key={w.id} class="card">
            <div class="row spread">
              <strong>{w.name}</strong>
              <code class="muted small">{w.slug}</code>
            </div>
            <QuotaBar used={w.usedBytes} quota={w.quotaBytes} label={`${w.name} quota`} />
            <div class="row">
              <button type="button" onClick={() => setModal({ ws: w })}>
                Edit
              </button>
            </div>
          </li>
        ))}
      </ul>
      {modal && (
        <Modal title={modal.ws ? `Edit ${modal.ws.name}` : "New workspace"} onClose={() => setModal(null)}>
          <WorkspaceForm tenantId={props.tenantId} ws={modal.ws} onDone={() => (setModal(null), props.onChanged())} />
        </Modal>
      )}
    </div>
  );
}
