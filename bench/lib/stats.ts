/** Small numeric helpers for reports. */

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function median(xs: number[]): number {
  return percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
}

/** p50/p99 of latencies in ms. */
export function latencyStats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  return { p50Ms: round(percentile(s, 50), 2), p99Ms: round(percentile(s, 99), 2) };
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export const MB = 1e6;
export const MiB = 1024 * 1024;

/** MB/s (10^6 bytes per second). */
export const mbps = (bytes: number, ms: number) => round(bytes / MB / (ms / 1000), 1);

export const ratio = (x: number, ceiling: number) => (ceiling > 0 ? round(x / ceiling, 3) : NaN);

/** The element with the median `key` (lower median for even counts). */
export function medianBy<T>(xs: T[], key: (t: T) => number): T {
  const s = [...xs].sort((a, b) => key(a) - key(b));
  return s[Math.floor((s.length - 1) / 2)]!;
}
