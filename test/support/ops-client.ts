/** Small HTTP client for tests against a running server (operations tests). */
export async function api<T = any>(
  base: string,
  method: string,
  path: string,
  key: string | null,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (e.g. /metrics)
  }
  return { status: res.status, body: parsed as T };
}

/** Two-step upload (request + PUT to the presigned URL); returns the file id once completed. */
export async function upload(base: string, apiKey: string, bytes: Uint8Array, fileType = "image/png"): Promise<string> {
  const r = await api(base, "POST", "/api/v1/upload/request", apiKey, {
    fileType,
    fileName: "f.bin",
    fileSizeBytes: bytes.byteLength,
  });
  if (r.status !== 200 && r.status !== 201) throw new Error(`upload request: ${r.status} ${JSON.stringify(r.body)}`);
  const put = await fetch(base + r.body.presignedUrl, { method: "PUT", body: bytes as Uint8Array<ArrayBuffer> });
  const body = await put.text();
  if (put.status !== 200 || JSON.parse(body).processingStatus !== "completed")
    throw new Error(`PUT: ${put.status} ${body}`);
  return r.body.fileId;
}

export async function download(base: string, apiKey: string, fileId: string): Promise<Uint8Array | null> {
  const res = await fetch(`${base}/api/v1/files/${fileId}/download`, {
    headers: { authorization: `Bearer ${apiKey}` },
  });
  if (res.status !== 200) return null;
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * PNG-typed content: the first 4100 bytes (all the type check reads) are the same valid-looking
 * PNG head for every seed; the bytes after depend on the seed.
 */
export function pngBytes(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = i < 4100 ? (i * 31 + 7) & 0xff : (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  out.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52].slice(0, size));
  return out;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the Prometheus text exposition format (0.0.4) strictly: every line is a comment
 * (`# HELP`, `# TYPE`), blank, or `name{labels} value [timestamp]`; anything else throws.
 */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  const typed = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      if (!m) throw new Error(`bad comment line: ${line}`);
      if (m[1] === "TYPE") {
        if (!/^(counter|gauge|histogram|summary|untyped)$/.test(m[3]!)) throw new Error(`bad type: ${line}`);
        typed.add(m[2]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([^ ]+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
      let consumed = 0;
      for (let lm = re.exec(m[3]); lm; lm = re.exec(m[3])) {
        labels[lm[1]!] = lm[2]!.replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
        consumed = re.lastIndex;
      }
      if (consumed !== m[3].length) throw new Error(`bad labels: ${line}`);
    }
    // Prometheus parses values with Go's ParseFloat: NaN and Inf case-insensitively (prom-client
    // writes "Nan" for an event-loop mean with no samples yet).
    const raw = m[4]!.toLowerCase();
    const value = raw === "+inf" ? Infinity : raw === "-inf" ? -Infinity : raw === "nan" ? NaN : Number(raw);
    if (Number.isNaN(value) && raw !== "nan") throw new Error(`bad value: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  if (typed.size === 0) throw new Error("no metrics");
  return samples;
}

export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
