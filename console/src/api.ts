/**
 * The console's only way to the server: same-origin fetches to the public REST API, authenticated
 * by the HttpOnly session cookie (the browser attaches it; this code never sees it). The admin key
 * is sent exactly once, to open the session, and is not kept anywhere.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

let onSignedOut: () => void = () => {};
/** Called when the server answers 401 (session expired or revoked). */
export function whenSignedOut(fn: () => void) {
  onSignedOut = fn;
}

async function toError(res: Response): Promise<ApiError> {
  try {
    const b = await res.json();
    return new ApiError(res.status, b.error?.code ?? "ERROR", b.error?.message ?? res.statusText, b.error?.details);
  } catch {
    return new ApiError(res.status, "ERROR", `${res.status} ${res.statusText}`);
  }
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    const err = await toError(res);
    if (res.status === 401) onSignedOut();
    throw err;
  }
  return res.status === 204 ? (undefined as T) : res.json();
}

export const get = <T = any>(path: string) => api<T>("GET", path);

export async function signIn(adminKey: string): Promise<void> {
  const res = await fetch("/api/v1/admin/session", {
    method: "POST",
    credentials: "same-origin",
    headers: { authorization: `Bearer ${adminKey}` },
  });
  if (!res.ok) throw await toError(res);
}

export async function signOut(): Promise<void> {
  await fetch("/api/v1/admin/session", { method: "DELETE", credentials: "same-origin" }).catch(() => {});
}

export const admin = (path: string) => `/api/v1/admin${path}`;
export const qs = (o: Record<string, string | number | undefined | null>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
};

/** A signed download URL made relative, so previews and downloads stay on the console's own origin. */
export const sameOriginPath = (url: string) => {
  const u = new URL(url, location.href);
  return u.pathname + u.search;
};

export interface UploadHandle {
  abort(): void;
  done: Promise<any>;
}

/**
 * Step 2 of the two-step upload: PUT the bytes to the presigned URL with XMLHttpRequest, the only
 * browser API that reports upload progress. The URL carries its own token; no cookie is needed.
 */
export function putWithProgress(url: string, file: File, onProgress: (sent: number, total: number) => void): UploadHandle {
  const xhr = new XMLHttpRequest();
  const done = new Promise<any>((resolve, reject) => {
    xhr.open("PUT", url);
    xhr.setRequestHeader("content-type", file.type || "application/octet-stream");
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      let body: any = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {}
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else
        reject(
          new ApiError(xhr.status, body?.error?.code ?? "ERROR", body?.error?.message ?? `Upload failed (${xhr.status})`),
        );
    };
    xhr.onerror = () => reject(new ApiError(0, "NETWORK", "Network error during upload"));
    xhr.onabort = () => reject(new ApiError(0, "CANCELLED", "Cancelled"));
    xhr.send(file);
  });
  return { abort: () => xhr.abort(), done };
}
