/**
 * What the soak's clients know and saw: the files they completed (with the seed that re-creates
 * their bytes) and, per operation, every answer (status, error code, latency, verification result).
 * The invariants are checked against this and against the server's own view.
 */

export interface SoakFile {
  id: string;
  tenant: number;
  workspaceId: string | null;
  size: number;
  seed: number;
  sha256: string;
  /** live until a DELETE is sent; a 404 for a file still `live` after the answer is a lost file */
  state: "live" | "deleting" | "deleted";
}

export interface OpStats {
  count: number;
  ok: number;
  codes4xx: Map<string, number>;
  s5xx: number;
  netErrors: number;
  mismatches: number;
  ms: number[];
}

export interface Breach {
  what: string;
  detail: string;
}

export class Ledger {
  readonly ops = new Map<string, OpStats>();
  readonly files: SoakFile[] = [];
  /** Mismatch and other in-run breaches, first few kept with their details. */
  readonly breaches: Breach[] = [];
  readonly quotaAnswers = { count: 0, breaches: 0 };
  bytesUp = 0;
  bytesDown = 0;
  /** uploads that will never complete: requested and never PUT, or PUT cut halfway */
  abandoned = 0;

  private stats(op: string): OpStats {
    let s = this.ops.get(op);
    if (!s) {
      s = { count: 0, ok: 0, codes4xx: new Map(), s5xx: 0, netErrors: 0, mismatches: 0, ms: [] };
      this.ops.set(op, s);
    }
    return s;
  }

  /** One HTTP answer: `code` is the error code of a 4xx body. */
  answer(op: string, status: number, ms: number, code?: string): void {
    const s = this.stats(op);
    s.count++;
    s.ms.push(ms);
    if (status < 400) s.ok++;
    else if (status < 500) s.codes4xx.set(code ?? String(status), (s.codes4xx.get(code ?? String(status)) ?? 0) + 1);
    else {
      s.s5xx++;
      this.breach("5xx", `${op}: ${status} ${code ?? ""}`);
    }
  }

  /** A request that got no HTTP answer at all. `expected` for PUTs the client cut on purpose. */
  netError(op: string, ms: number, err: unknown, expected = false): void {
    const s = this.stats(op);
    s.count++;
    s.ms.push(ms);
    if (expected) {
      s.ok++;
      return;
    }
    s.netErrors++;
    this.breach("network error", `${op}: ${err instanceof Error ? err.message : String(err)}`);
  }

  mismatch(op: string, detail: string): void {
    this.stats(op).mismatches++;
    this.breach("verification mismatch", `${op}: ${detail}`);
  }

  quotaAnswer(scope: string, q: { quotaBytes: number | null; usedBytes: number; reservedBytes: number }): void {
    this.quotaAnswers.count++;
    if (q.quotaBytes !== null && q.usedBytes + q.reservedBytes > q.quotaBytes) {
      this.quotaAnswers.breaches++;
      this.breach("used+reserved > quota", `${scope}: ${q.usedBytes}+${q.reservedBytes} > ${q.quotaBytes}`);
    }
  }

  private breachCount = new Map<string, number>();
  breach(what: string, detail: string): void {
    const n = (this.breachCount.get(what) ?? 0) + 1;
    this.breachCount.set(what, n);
    if (n <= 5) this.breaches.push({ what, detail });
  }
  breachesOf(what: string): number {
    return this.breachCount.get(what) ?? 0;
  }

  totals() {
    let count = 0;
    let s5xx = 0;
    let net = 0;
    let mismatches = 0;
    for (const s of this.ops.values()) {
      count += s.count;
      s5xx += s.s5xx;
      net += s.netErrors;
      mismatches += s.mismatches;
    }
    return { count, s5xx, net, mismatches };
  }

  /** A random file in `live` state (optionally of one tenant), or undefined. */
  randomLive(tenant?: number): SoakFile | undefined {
    for (let tries = 0; tries < 8 && this.files.length; tries++) {
      const f = this.files[Math.floor(Math.random() * this.files.length)]!;
      if (f.state === "live" && (tenant === undefined || f.tenant === tenant)) return f;
    }
    return undefined;
  }

  /** Drops deleted files from the pick list now and then (keeps random picks cheap). */
  compact(): void {
    let j = 0;
    for (const f of this.files) if (f.state !== "deleted") this.files[j++] = f;
    this.files.length = j;
  }
}
