import { useState } from "preact/hooks";
import { admin, api, putWithProgress, type UploadHandle } from "../api";
import { bytes } from "../format";

interface Item {
  key: number;
  file: File;
  sent: number;
  state: "requesting" | "uploading" | "completed" | "failed" | "cancelled";
  message?: string;
  handle?: UploadHandle;
}
let seq = 0;

/**
 * Drag-and-drop upload into a tenant through the two-step API: the admin route requests the
 * upload on the tenant's behalf (reserving its quota), then the bytes go to the presigned URL
 * with a progress bar per file. The PUT's answer is the verification result.
 */
export function UploadPanel(props: {
  tenantId: string;
  workspaces: { id: string; name: string }[];
  allowed: string[] | null;
  onUploaded: () => void;
}) {
  const [items, setItems] = useState<Item[]>([]);
  const [over, setOver] = useState(false);
  const [workspaceId, setWorkspaceId] = useState("");
  const [context, setContext] = useState("");
  const patch = (key: number, p: Partial<Item>) => setItems((xs) => xs.map((x) => (x.key === key ? { ...x, ...p } : x)));

  const start = async (file: File) => {
    const key = ++seq;
    setItems((xs) => [...xs, { key, file, sent: 0, state: "requesting" }]);
    try {
      const req = await api("POST", admin(`/tenants/${props.tenantId}/upload/request`), {
        fileName: file.name,
        fileType: file.type || "application/octet-stream",
        fileSizeBytes: file.size,
        workspaceId: workspaceId || undefined,
        context: context.trim() || undefined,
      });
      const handle = putWithProgress(req.presignedUrl, file, (sent) => patch(key, { sent }));
      patch(key, { state: "uploading", handle });
      const res = await handle.done;
      const failed = res.processingStatus === "failed";
      patch(key, {
        sent: file.size,
        state: failed ? "failed" : "completed",
        message: failed ? (res.metadata?.message ?? res.metadata?.failureReason ?? "verification failed") : undefined,
      });
      props.onUploaded();
    } catch (err) {
      const e = err as Error & { code?: string };
      patch(key, { state: e.code === "CANCELLED" ? "cancelled" : "failed", message: e.message });
    }
  };
  const addFiles = (list: FileList | null) => {
    for (const f of Array.from(list ?? [])) void start(f);
  };

  return (
    <div class="stack">
      <div class="row wrap">
        <label>
          Workspace
          <select value={workspaceId} onChange={(e) => setWorkspaceId(e.currentTarget.value)}>
            <option value="">(none)</option>
            {props.workspaces.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Context <span class="muted small">(optional label)</span>
          <input value={context} onInput={(e) => setContext(e.currentTarget.value)} maxLength={100} />
        </label>
      </div>
      <label
        class={`drop ${over ? "over" : ""}`}
        data-testid="dropzone"
        onDragOver={(e) => (e.preventDefault(), setOver(true))}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          addFiles(e.dataTransfer?.files ?? null);
        }}
      >
        <strong>Drop files here</strong>
        <span class="muted">or click to choose · allowed: {props.allowed === null ? "any type" : props.allowed.join(", ")} · up to 100 MB each</span>
        <input
          type="file"
          multiple
          class="visually-hidden"
          onChange={(e) => (addFiles(e.currentTarget.files), (e.currentTarget.value = ""))}
        />
      </label>
      {items.length > 0 && (
        <ul class="uploads" aria-label="Uploads">
          {items.map((it) => (
            <li key={it.key} class="card" data-testid="upload-item" data-state={it.state}>
              <div class="row spread">
                <strong class="ellipsis">{it.file.name}</strong>
                <span class={`badge ${it.state}`} data-testid="upload-state">
                  {it.state}
                </span>
              </div>
              <progress max={it.file.size || 1} value={it.sent} aria-label={`Upload of ${it.file.name}`} />
              <div class="row spread small">
                <span data-testid="upload-bytes">
                  {bytes(it.sent)} / {bytes(it.file.size)}
                </span>
                {(it.state === "uploading" || it.state === "requesting") && (
                  <button type="button" class="ghost" onClick={() => it.handle?.abort()}>
                    Cancel
                  </button>
                )}
              </div>
              {it.message && (
                <p class={it.state === "failed" ? "error" : "muted"} role={it.state === "failed" ? "alert" : undefined}>
                  {it.message}
                </p>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
