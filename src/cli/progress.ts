/**
 * Terminal progress for long CLI runs (rotation, backup, restore, objects copy): items and bytes done, rate,
 * ETA. On a TTY one line is redrawn in place; otherwise (logs, tests) a line is printed at most
 * once per `everyMs`. `done()` always prints the final line.
 */
export function createProgress(opts: {
  label: string;
  totalItems: number;
  totalBytes?: number;
  /** Count bytes (amount and MiB/s) without a known total. */
  showBytes?: boolean;
  unit?: string;
  everyMs?: number;
  write?: (s: string) => void;
  tty?: boolean;
}) {
  const write = opts.write ?? ((s: string) => process.stdout.write(s));
  const tty = opts.tty ?? process.stdout.isTTY === true;
  const every = opts.everyMs ?? (tty ? 200 : 1000);
  const unit = opts.unit ?? "files";
  const started = performance.now();
  let items = 0;
  let bytes = 0;
  let printedAt = 0;

  const line = () => {
    const secs = Math.max((performance.now() - started) / 1000, 1e-6);
    const parts = [`${opts.label}: ${items}/${opts.totalItems} ${unit}`];
    if (opts.totalBytes !== undefined) parts.push(`${mib(bytes)}/${mib(opts.totalBytes)} MiB`);
    else if (opts.showBytes) parts.push(`${mib(bytes)} MiB`);
    const rate =
      opts.totalBytes !== undefined || opts.showBytes
        ? `${mib(bytes / secs)} MiB/s`
        : `${Math.round(items / secs)} ${unit}/s`;
    parts.push(rate);
    const frac =
      opts.totalBytes !== undefined && opts.totalBytes > 0 ? bytes / opts.totalBytes : items / (opts.totalItems || 1);
    const eta = frac > 0 && frac < 1 ? Math.round((secs / frac) * (1 - frac)) : 0;
    parts.push(frac >= 1 ? `${secs.toFixed(1)} s` : `ETA ${eta} s`);
    return parts.join(" · ");
  };
  const print = (final: boolean) => {
    printedAt = performance.now();
    write(tty ? `\r${line()}\x1b[K${final ? "\n" : ""}` : `${line()}\n`);
  };
  return {
    add(n: number, b = 0) {
      items += n;
      bytes += b;
      if (performance.now() - printedAt >= every) print(false);
    },
    done() {
      print(true);
      return { items, bytes, seconds: (performance.now() - started) / 1000 };
    },
  };
}

const mib = (b: number) => (b / 1048576).toFixed(1);
