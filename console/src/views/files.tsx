import { useEffect, useState } from "preact/hooks";
import { admin, api, get, qs, sameOriginPath } from "../api";
import { bytes, date } from "../format";
import { CopyButton, Empty, ErrorNote, Modal, toast } from "../ui";

interface FileItem {
  id: string;
  originalName: string;
  fileType: string;
  sizeBytes: number;
  context: string | null;
  processingStatus: string;
  workspaceId: string | null;
  createdAt: string;
}

const signed = (tenantId: string, fileId: string, expiresIn: number) =>
  get(admin(`/tenants/${tenantId}/files/${fileId}/signed-url${qs({ expiresIn })}`));

function Preview({ tenantId, file }: { tenantId: string; file: FileItem }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    signed(tenantId, file.id, 300).then((s) => setSrc(`${sameOriginPath(s.url)}&disposition=inline`));
  }, [file.id]);
  if (!src) return <p class="muted">Loading preview…</p>;
  if (file.fileType.startsWith("image/"))
    return <img class="preview" src={src} alt={`Preview of ${file.originalName}`} data-testid="preview-image" />;
  if (file.fileType === "application/pdf")
    return <iframe class="preview pdf" src={src} title={`Preview of ${file.originalName}`} />;
  return <p class="muted">No preview for {file.fileType}. Use Download.</p>;
}

function SignedLink({ tenantId, file }: { tenantId: string; file: FileItem }) {
  const [expiresIn, setExpiresIn] = useState("3600");
  const [link, setLink] = useState<{ url: string; expiresAt: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <div class="stack">
      <p class="muted">Anyone with this link can download the file until it expires; no key is needed.</p>
      <div class="row wrap">
        <label>
          Expires after
          <select value={expiresIn} onChange={(e) => (setExpiresIn(e.currentTarget.value), setLink(null))}>
            <option value="300">5 minutes</option>
            <option value="3600">1 hour</option>
            <option value="21600">6 hours</option>
            <option value="86400">24 hours</option>
          </select>
        </label>
        <button
          type="button"
          class="primary"
          onClick={async () => {
            try {
              setLink(await signed(tenantId, file.id, Number(expiresIn)));
            } catch (e) {
              setError((e as Error).message);
            }
          }}
        >
          Create link
        </button>
      </div>
      <ErrorNote error={error} />
      {link && (
        <label>
          Link (expires {date(link.expiresAt)})
          <div class="row">
            <input readOnly value={link.url} data-testid="signed-link" onFocus={(e) => e.currentTarget.select()} />
            <CopyButton text={link.url} />
          </div>
        </label>
      )}
    </div>
  );
}

function Rename({ tenantId, file, onDone }: { tenantId: string; file: FileItem; onDone: () => void }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      class="stack"
      onSubmit={async (e) => {
        e.preventDefault();
        const name = String(new FormData(e.currentTarget).get("name")).trim();
        try {
          await api("PATCH", admin(`/tenants/${tenantId}/files/${file.id}`), { originalName: name });
          toast("Renamed");
          onDone();
        } catch (err) {
          setError((err as Error).message);
        }
      }}
    >
      <label>
        New name
        <input name="name" required maxLength={255} defaultValue={file.originalName} autoFocus />
      </label>
      <ErrorNote error={error} />
      <div class="row end">
        <button type="submit" class="primary">
          Rename
        </button>
      </div>
    </form>
  );
}

export function Files(props: {
  tenantId: string;
  workspaces: { id: string; name: string }[];
  allowed: string[] | null;
  onChanged: () => void;
}) {
  const { tenantId } = props;
  const [filters, setFilters] = useState({ q: "", fileType: "", status: "", workspaceId: "", sort: "newest" });
  const [files, setFiles] = useState<FileItem[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [n, setN] = useState(0);
  const [modal, setModal] = useState<null | { kind: "preview" | "link" | "rename" | "delete"; file: FileItem }>(null);

  const page = (cursor?: string) =>
    get(admin(`/tenants/${tenantId}/files/search${qs({ ...filters, limit: 25, cursor })}`));
  useEffect(() => {
    // Typing in the search box waits a moment so each key press doesn't cost a request.
    const t = setTimeout(() => {
      page().then(
        (r) => (setFiles(r.files), setNext(r.nextCursor), setError(null)),
        (e) => setError(e.message),
      );
    }, 200);
    return () => clearTimeout(t);
  }, [tenantId, filters, n]);
  const reload = () => setN((x) => x + 1);
  const set = (k: keyof typeof filters) => (e: Event) =>
    setFilters((f) => ({ ...f, [k]: (e.currentTarget as HTMLInputElement).value }));
  const wsName = (id: string | null) => props.workspaces.find((w) => w.id === id)?.name;
  const download = async (f: FileItem) => {
    const s = await signed(tenantId, f.id, 60);
    const a = document.createElement("a");
    a.href = `${sameOriginPath(s.url)}&disposition=attachment`;
    a.download = f.originalName;
    document.body.append(a);
    a.click();
    a.remove();
  };
  const filtered = Object.entries(filters).some(([k, v]) => k !== "sort" && v);

  return (
    <div class="stack">
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search
          <input type="search" placeholder="Name or context" value={filters.q} onInput={set("q")} />
        </label>
        <label>
          Type
          {props.allowed === null ? (
            <input value={filters.fileType} onInput={set("fileType")} placeholder="e.g. text/csv" />
          ) : (
            <select value={filters.fileType} onChange={set("fileType")}>
              <option value="">Any</option>
              {props.allowed.map((t) => (
                <option key={t}>{t}</option>
              ))}
            </select>
          )}
        </label>
        <label>
          Status
          <select value={filters.status} onChange={set("status")}>
            <option value="">Any</option>
            <option>completed</option>
            <option>pending</option>
            <option>processing</option>
            <option>failed</option>
          </select>
        </label>
        <label>
          Workspace
          <select value={filters.workspaceId} onChange={set("workspaceId")}>
            <option value="">Any</option>
            {props.workspaces.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Sort
          <select value={filters.sort} onChange={set("sort")}>
            <option value="newest">Newest first</option>
            <option value="oldest">Oldest first</option>
          </select>
        </label>
      </form>
      <ErrorNote error={error} />
      {files && files.length === 0 && (
        <Empty title={filtered ? "No files match" : "No files yet"}>
          {filtered ? (
            "Try another search or clear the filters."
          ) : (
            <>
              Upload some from the <a href={`#/tenants/${tenantId}/upload`}>Upload tab</a>, or with the tenant's API key
              (see /docs).
            </>
          )}
        </Empty>
      )}
      <ul class="files" aria-label="Files">
        {(files ?? []).map((f) => (
          <li key={f.id} class="card file" data-testid="file-row">
            <div class="row spread">
              <strong class="ellipsis" data-testid="file-name">
                {f.originalName}
              </strong>
              <span class={`badge ${f.processingStatus}`}>{f.processingStatus}</span>
            </div>
            <p class="muted small">
              {f.fileType} · {bytes(f.sizeBytes)} · {date(f.createdAt)}
              {f.context && ` · context: ${f.context}`}
              {f.workspaceId && ` · workspace: ${wsName(f.workspaceId) ?? f.workspaceId}`}
            </p>
            <div class="row wrap">
              <button type="button" onClick={() => setModal({ kind: "preview", file: f })}>
                Preview
              </button>
              <button type="button" onClick={() => void download(f)}>
                Download
              </button>
              <button type="button" onClick={() => setModal({ kind: "link", file: f })}>
                Signed link
              </button>
              <button type="button" onClick={() => setModal({ kind: "rename", file: f })}>
                Rename
              </button>
              <button type="button" class="danger-ghost" onClick={() => setModal({ kind: "delete", file: f })}>
                Delete
              </button>
            </div>
          </li>
        ))}
      </ul>
      {next && (
        <button
          type="button"
          onClick={async () => {
            const r = await page(next);
            setFiles((xs) => [...(xs ?? []), ...r.files]);
            setNext(r.nextCursor);
          }}
        >
          Load more
        </button>
      )}
      {modal?.kind === "preview" && (
        <Modal title={modal.file.originalName} onClose={() => setModal(null)} wide>
          <Preview tenantId={tenantId} file={modal.file} />
        </Modal>
      )}
      {modal?.kind === "link" && (
        <Modal title={`Signed link: ${modal.file.originalName}`} onClose={() => setModal(null)}>
          <SignedLink tenantId={tenantId} file={modal.file} />
        </Modal>
      )}
      {modal?.kind === "rename" && (
        <Modal title="Rename file" onClose={() => setModal(null)}>
          <Rename tenantId={tenantId} file={modal.file} onDone={() => (setModal(null), reload())} />
        </Modal>
      )}
      {modal?.kind === "delete" && (
        <Modal title="Delete file?" onClose={() => setModal(null)}>
          <div class="stack">
            <p>
              <strong>{modal.file.originalName}</strong> ({bytes(modal.file.sizeBytes)}) leaves every listing now and its
              quota is released; the stored bytes are purged later.
            </p>
            <div class="row end">
              <button
                type="button"
                class="danger"
                onClick={async () => {
                  await api("DELETE", admin(`/tenants/${tenantId}/files/${modal.file.id}`));
                  toast("File deleted");
                  setModal(null);
                  reload();
                  props.onChanged();
                }}
              >
                Delete file
              </button>
            </div>
          </div>
        </Modal>
      )}
    </div>
  );
}
