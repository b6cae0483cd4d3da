/** The soak's printed report: one row per operation, then throughput, memory, backlog, invariants. */
import { latencyStats, round } from "../lib/stats";
import type { Invariant, LogSummary } from "./checks";
import type { Ledger } from "./ledger";

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "))
    .join("\n");
}

export function opsTable(ledger: Ledger): string {
  const rows = [["operation", "count", "ok", "4xx by code", "5xx", "net err", "p50 ms", "p99 ms", "mismatch"]];
  for (const [op, s] of [...ledger.ops].sort(([a], [b]) => a.localeCompare(b))) {
    const { p50Ms, p99Ms } = latencyStats(s.ms);
    const codes = [...s.codes4xx].map(([c, n]) => `${c} ${n}`).join(", ") || "-";
    rows.push([
      op,
      String(s.count),
      String(s.ok),
      codes,
      String(s.s5xx),
      String(s.netErrors),
      p50Ms.toFixed(1),
      p99Ms.toFixed(1),
      String(s.mismatches),
    ]);
  }
  return table(rows);
}

export interface RunFacts {
  backend: string;
  seconds: number;
  workers: number;
  rss: { start: number; peak: number; end: number };
  overdue: { maxCount: number; maxOverdueMs: number };
  expiryWaitMs: number;
  log: LogSummary;
}

export function summary(ledger: Ledger, f: RunFacts): string {
  const t = ledger.totals();
  const perS = (n: number) => round(n / f.seconds, 1);
  const lines = [
    `throughput: ${perS(t.count)} requests/s (${t.count} in ${f.seconds} s, ${f.workers} workers, ${f.backend}); ` +
      `up ${round(ledger.bytesUp / 1e6 / f.seconds, 1)} MB/s, down ${round(ledger.bytesDown / 1e6 / f.seconds, 1)} MB/s; ` +
      `abandoned uploads ${perS(ledger.abandoned)}/s (${ledger.abandoned})`,
    `RSS (MiB): start ${round(f.rss.start)}, peak ${round(f.rss.peak)}, end after idle ${round(f.rss.end)}`,
    `quota answers checked: ${ledger.quotaAnswers.count}`,
    `expiry: ${f.log.expiryRuns.runs} runs expired ${f.log.expiryRuns.expired} uploads (most batches in one run ${f.log.expiryRuns.maxBatches}, longest run ${f.log.expiryRuns.maxMs} ms); ` +
      `oldest reservation past expiry seen during the load ${round(f.overdue.maxOverdueMs / 1000)} s (at most ${f.overdue.maxCount} at once); ` +
      `after the load all reservations were released in ${round(f.expiryWaitMs / 1000)} s`,
    `backlog lines: ${
      Object.entries(f.log.backlog)
        .map(
          ([job, b]) => `${job} ${b.runs}× (max ${b.maxCount} due, oldest ${round(b.maxOverdueMs / 1000)} s overdue)`,
        )
        .join("; ") || "none (no run found more than one batch due)"
    }; purged ${f.log.purged} files`,
    `server log: ${f.log.lines} lines, ${f.log.errorCount} at level error, ${f.log.status5xx} 5xx in the access log`,
  ];
  return lines.join("\n");
}

export function invariantsTable(inv: Invariant[]): string {
  const w = Math.max(...inv.map((i) => i.name.length));
  return inv.map((i) => `${i.ok ? "PASS" : "FAIL"}  ${i.name.padEnd(w)}  ${i.detail}`).join("\n");
}
