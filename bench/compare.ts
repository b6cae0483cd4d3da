/**
 * Judges a change against another commit on the same noise:
 *
 *   bun bench/compare.ts <commit> [--rounds N] [--quick] [--no-pg | --pg-only]   (npm run bench:compare -- <commit>)
 *
 * Builds the binary of the working tree (`npm run build`) and of <commit> (in a temporary git
 * worktree, with its own `npm ci` when its lockfile differs), then runs this tree's bench/run.ts
 * against each binary, alternating which goes first in each round (A B, B A, ...), so both see
 * the same machine over the same minutes. Prints, per summary row, each build's median value and
 * in-run ratio, and B/A: >1 means the working tree measured higher on that metric (which is
 * better for rates, worse for latencies and memory). Nothing is asserted.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Row } from "./lib/context";
import { median, round } from "./lib/stats";

const ROOT = join(import.meta.dir, "..");
const args = process.argv.slice(2);
const base = args.find((a, i) => !a.startsWith("--") && args[i - 1] !== "--rounds");
const rounds = Number(args[args.indexOf("--rounds") + 1]) || 2;
const quick = args.includes("--quick");
if (!base) {
  process.stderr.write("usage: bun bench/compare.ts <commit> [--rounds N] [--quick] [--no-pg | --pg-only]\n");
  process.exit(2);
}
const log = (m: string) => process.stderr.write(`[compare] ${m}\n`);

function sh(cmd: string[], cwd: string) {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} (in ${cwd}) failed:\n${r.stderr.toString()}`);
  return r.stdout.toString().trim();
}

/** Builds `tree`'s binary with its own build script and copies it to `out`. */
function build(tree: string, out: string) {
  sh(["npm", "run", "--silent", "build"], tree);
  copyFileSync(join(tree, "dist", "storage-brain"), out);
}

/** The first number in a value such as "266 MB/s" or "12/34" (the p50 of "p50/p99"). */
function firstNumber(v: string): number {
  return Number(/-?[\d.]+/.exec(v.replaceAll(",", ""))?.[0] ?? NaN);
}

function printComparison(results: Record<"A" | "B", Row[][]>, baseSha: string) {
  const key = (r: Row) => `${r.scenario}: ${r.metric}`;
  const metrics = [...new Set(results.B.flat().map(key))];
  const med = (which: "A" | "B", k: string, pick: (r: Row) => number) =>
    median(
      results[which]
        .map((rows) => rows.find((r) => key(r) === k))
        .filter((r): r is Row => !!r)
        .map(pick)
        .filter(Number.isFinite),
    );
  const head = ["metric", `A ${baseSha}`, "B", "B/A", "ratio A", "ratio B"];
  const cells = metrics.map((k) => {
    const a = med("A", k, (r) => firstNumber(r.value));
    const b = med("B", k, (r) => firstNumber(r.value));
    const ra = med("A", k, (r) => r.ratio ?? NaN);
    const rb = med("B", k, (r) => r.ratio ?? NaN);
    const show = (x: number) => (Number.isFinite(x) ? String(round(x, 2)) : "");
    return [k, show(a), show(b), show(b / a), show(ra), show(rb)];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(" | ")} |`;
  process.stdout.write(
    `${[line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.map(line)].join("\n")}\n`,
  );
}

const tmp = mkdtempSync(join(tmpdir(), "storage-brain-compare-"));
const baseTree = join(tmp, "base");
try {
  const baseSha = sh(["git", "rev-parse", "--short", base], ROOT);
  const headSha = sh(["git", "rev-parse", "--short", "HEAD"], ROOT);
  const dirty = sh(["git", "status", "--porcelain", "--", "src", "migrations", "package.json"], ROOT) !== "";
  log(`A = ${baseSha}, B = working tree (${headSha}${dirty ? " + changes" : ""}); ${rounds} rounds`);

  sh(["git", "worktree", "add", "--detach", baseTree, baseSha], ROOT);
  const sameLock =
    readFileSync(join(ROOT, "package-lock.json"), "utf8") === readFileSync(join(baseTree, "package-lock.json"), "utf8");
  if (sameLock) symlinkSync(join(ROOT, "node_modules"), join(baseTree, "node_modules"));
  else sh(["npm", "ci", "--silent"], baseTree);
  const binA = join(tmp, "storage-brain-A");
  const binB = join(tmp, "storage-brain-B");
  log("building A");
  build(baseTree, binA);
  log("building B");
  build(ROOT, binB);

  const results: Record<"A" | "B", Row[][]> = { A: [], B: [] };
  for (let r = 0; r < rounds; r++) {
    const order: ("A" | "B")[] = r % 2 === 0 ? ["A", "B"] : ["B", "A"];
    for (const which of order) {
      log(`round ${r + 1}/${rounds}: ${which}`);
      const run = Bun.spawnSync(
        [
          process.execPath,
          join(import.meta.dir, "run.ts"),
          "--server",
          which === "A" ? binA : binB,
          ...(quick ? ["--quick"] : []),
          ...args.filter((a) => a === "--no-pg" || a === "--pg-only"),
        ],
        { cwd: ROOT, stdout: "pipe", stderr: "inherit" },
      );
      const summary = run.stdout
        .toString()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l))
        .find((j) => j.scenario === "summary");
      if (!summary) throw new Error(`bench run ${which} printed no summary (exit ${run.exitCode})`);
      results[which].push(summary.rows);
    }
  }
  printComparison(results, baseSha);
} finally {
  Bun.spawnSync(["git", "worktree", "remove", "--force", baseTree], { cwd: ROOT });
  rmSync(tmp, { recursive: true, force: true });
}
