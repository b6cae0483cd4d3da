export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export const date = (iso: string | number | null | undefined) => {
  if (iso === null || iso === undefined) return "—";
  const d = typeof iso === "number" ? new Date(iso * 1000) : new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
};

export function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m ${seconds % 60}s`;
}

export const percent = (used: number, quota: number | null) =>
  quota === null ? null : quota > 0 ? Math.min(100, (used / quota) * 100) : used > 0 ? 100 : 0;

/** MB in a form field ↔ bytes in the API. */
export const mbToBytes = (mb: string) => Math.round(Number(mb) * 1024 * 1024);
export const bytesToMb = (b: number) => String(Math.round((b / 1024 / 1024) * 100) / 100);
