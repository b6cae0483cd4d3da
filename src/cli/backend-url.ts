import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { createStorageBackend } from "../bootstrap";
import type { Config } from "../config/schema";
import type { StorageBackend } from "../storage/backend";
import { LocalBackend } from "../storage/local.backend";
import { UsageError } from "./args";

/**
 * A storage backend named on the command line (`objects copy --from/--to`), in one string:
 *
 *   file:<dir>                    local backend whose objects directory is <dir> ($DATA_DIR/objects)
 *   s3://<bucket>/[<key prefix>/][?endpoint=<url>&region=<region>&path-style=true]
 *
 * The S3 form says everything about the bucket except credentials, which come from
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the SDK's default chain when unset), so no secret
 * appears in a process list. Parameters left out take S3's defaults (region us-east-1,
 * virtual-hosted style); MinIO needs `path-style=true`. The path is the key prefix, used literally
 * like S3_KEY_PREFIX, so it must be empty or end in "/".
 */
export type BackendLocation =
  | { kind: "local"; dir: string }
  | { kind: "s3"; bucket: string; prefix: string; endpoint?: string; region: string; pathStyle: boolean };

const S3_PARAMS = new Set(["endpoint", "region", "path-style"]);

export function parseBackendUrl(raw: string, flag: string): BackendLocation {
  const bad = (why: string) => new UsageError(`${flag} ${raw}: ${why}`);
  if (raw.startsWith("file:")) {
    const path = raw.startsWith("file://") ? decodeURIComponent(new URL(raw).pathname) : raw.slice("file:".length);
    if (!path) throw bad("name a directory (file:<dir>)");
    return { kind: "local", dir: resolve(path) };
  }
  if (!raw.startsWith("s3://")) throw bad("expected file:<dir> or s3://<bucket>/[<prefix>/]");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad("not a valid URL");
  }
  if (!url.hostname) throw bad("name a bucket (s3://<bucket>/)");
  if (url.username || url.password)
    throw bad("credentials do not go in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  const prefix = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (prefix && !prefix.endsWith("/"))
    throw bad(`the key prefix is used literally (as S3_KEY_PREFIX): end it with "/" (s3://${url.hostname}/${prefix}/)`);
  for (const k of url.searchParams.keys())
    if (!S3_PARAMS.has(k)) throw bad(`unknown parameter ${k} (known: ${[...S3_PARAMS].join(", ")})`);
  const endpoint = url.searchParams.get("endpoint") ?? undefined;
  if (endpoint !== undefined && !URL.canParse(endpoint)) throw bad("endpoint must be a URL (http://host:port)");
  const pathStyle = url.searchParams.get("path-style") ?? "false";
  if (pathStyle !== "true" && pathStyle !== "false") throw bad("path-style must be true or false");
  return {
    kind: "s3",
    bucket: url.hostname,
    prefix,
    endpoint,
    region: url.searchParams.get("region") || "us-east-1",
    pathStyle: pathStyle === "true",
  };
}

/** The backend the configuration selects (what `serve` would use), as a location. */
export function configuredLocation(config: Config): BackendLocation {
  if (config.STORAGE_BACKEND === "s3")
    return {
      kind: "s3",
      bucket: config.S3_BUCKET ?? "",
      prefix: config.S3_KEY_PREFIX,
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION,
      pathStyle: config.S3_FORCE_PATH_STYLE,
    };
  return { kind: "local", dir: resolve(config.DATA_DIR, "objects") };
}

/** For output: the location as a URL (never with credentials). */
export function describeLocation(loc: BackendLocation): string {
  if (loc.kind === "local") return `file:${loc.dir}`;
  const q: string[] = [];
  if (loc.endpoint) q.push(`endpoint=${loc.endpoint}`);
  if (loc.region !== "us-east-1") q.push(`region=${loc.region}`);
  if (loc.pathStyle) q.push("path-style=true");
  return `s3://${loc.bucket}/${loc.prefix}${q.length ? `?${q.join("&")}` : ""}`;
}

/** Whether two locations hold the same objects (copying one onto itself is refused). */
export function sameLocation(a: BackendLocation, b: BackendLocation): boolean {
  if (a.kind === "local" || b.kind === "local") return a.kind === "local" && b.kind === "local" && a.dir === b.dir;
  return a.bucket === b.bucket && a.prefix === b.prefix && (a.endpoint ?? "") === (b.endpoint ?? "");
}

/**
 * Opens the backend at `loc`. A local source must exist (a mistyped path would otherwise be
 * created empty and "copy" nothing); a local target is created.
 */
export async function openLocation(
  loc: BackendLocation,
  config: Config,
  role: "source" | "target",
): Promise<StorageBackend> {
  if (loc.kind === "local") {
    if (role === "source" && !existsSync(loc.dir)) throw new Error(`source directory ${loc.dir} does not exist`);
    const local = new LocalBackend(loc.dir);
    await local.init();
    return local;
  }
  return createStorageBackend({
    ...config,
    STORAGE_BACKEND: "s3",
    S3_BUCKET: loc.bucket,
    S3_KEY_PREFIX: loc.prefix,
    S3_ENDPOINT: loc.endpoint,
    S3_REGION: loc.region,
    S3_FORCE_PATH_STYLE: loc.pathStyle,
  });
}
