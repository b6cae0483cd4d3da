import { validation } from "../shared/errors";

/** What a tus creation request says about the file (from `Upload-Metadata`). */
export interface TusFileMetadata {
  fileName: string;
  fileType: string;
  context?: string;
  workspaceId?: string;
  tags?: Record<string, string>;
}

const KEY = /^[A-Za-z0-9_.~-]{1,64}$/;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_HEADER = 8 * 1024;

/**
 * Parses tus `Upload-Metadata`: comma-separated `key base64(value)` pairs (a key alone means an
 * empty value), keys unique. Known keys: `filename` and `filetype` (required), `context`,
 * `workspaceId`, `tags` (a JSON object of strings, the same limits as the upload request's).
 * Other keys (tus-js-client adds e.g. `name`, `type` when asked) are accepted and ignored.
 */
export function parseTusMetadata(header: string | null): TusFileMetadata {
  if (!header) throw validation("Upload-Metadata with filename and filetype is required", { field: "Upload-Metadata" });
  if (header.length > MAX_HEADER) throw validation("Upload-Metadata is too long", { field: "Upload-Metadata" });
  const values = new Map<string, string>();
  for (const pair of header.split(",")) {
    const [key = "", value = "", extra] = pair.trim().split(" ");
    if (!KEY.test(key) || extra !== undefined || !B64.test(value) || values.has(key))
      throw validation("Upload-Metadata is malformed", { field: "Upload-Metadata", key });
    const text = Buffer.from(value, "base64").toString("utf8");
    values.set(key, text);
  }
  const fileName = values.get("filename");
  const fileType = values.get("filetype");
  if (!fileName || fileName.length > 255)
    throw validation("metadata filename is required (1-255 characters)", { field: "filename" });
  if (!fileType || fileType.length > 255) throw validation("metadata filetype is required", { field: "filetype" });
  const out: TusFileMetadata = { fileName, fileType };
  const context = values.get("context");
  if (context !== undefined) {
    if (context.length > 100) throw validation("metadata context is longer than 100 characters", { field: "context" });
    out.context = context;
  }
  const workspaceId = values.get("workspaceId");
  if (workspaceId) {
    if (!UUID.test(workspaceId)) throw validation("metadata workspaceId must be a UUID", { field: "workspaceId" });
    out.workspaceId = workspaceId;
  }
  const tags = values.get("tags");
  if (tags) out.tags = parseTags(tags);
  return out;
}

function parseTags(json: string): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw validation("metadata tags must be a JSON object", { field: "tags" });
  }
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw validation("metadata tags must be a JSON object", { field: "tags" });
  const entries = Object.entries(value);
  if (entries.length > 32) throw validation("metadata tags may hold at most 32 entries", { field: "tags" });
  for (const [k, v] of entries) {
    if (k.length < 1 || k.length > 64 || typeof v !== "string" || v.length > 256)
      throw validation("metadata tags must map 1-64 character keys to strings of at most 256", {
        field: "tags",
        key: k,
      });
  }
  return value as Record<string, string>;
}

/**
 * `Upload-Checksum: <algorithm> <base64 digest>` (tus checksum extension). Only sha256 is
 * offered; any other algorithm is a 400, as the extension asks.
 */
export function parseTusChecksum(header: string | null): { algorithm: "sha256"; digest: Buffer } | undefined {
  if (header === null) return undefined;
  const [algorithm, digest = "", extra] = header.trim().split(" ");
  if (algorithm !== "sha256" || extra !== undefined || !B64.test(digest))
    throw validation("Upload-Checksum must be 'sha256 <base64 digest>'", { field: "Upload-Checksum" });
  const bytes = Buffer.from(digest, "base64");
  if (bytes.byteLength !== 32)
    throw validation("Upload-Checksum digest must be 32 bytes", { field: "Upload-Checksum" });
  return { algorithm, digest: bytes };
}
