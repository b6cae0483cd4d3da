import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { bytes, percent } from "./format";

/** Loads data and reloads on demand; `error` holds the last failure's message. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (d) => live && (setData(d), setError(null)),
      (e) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [...deps, n]);
  return { data, error, reload: useCallback(() => setN((x) => x + 1), []) };
}

/** Usage against a quota; amber from 80 %, red from 95 %. A null quota means "no limit of its own". */
export function QuotaBar({ used, quota, label }: { used: number; quota: number | null; label: string }) {
  const p = percent(used, quota);
  const level = p === null ? "none" : p >= 95 ? "red" : p >= 80 ? "amber" : "ok";
  return (
    <div class="quota" data-level={level}>
      <div class="quota-text">
        <span>{bytes(used)}</span>
        <span class="muted">{quota === null ? "no own limit" : `of ${bytes(quota)} · ${Math.round(p!)} %`}</span>
      </div>
      {p !== null && (
        <div
          class="bar"
          role="meter"
          aria-label={label}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(p)}
          aria-valuetext={`${Math.round(p)} % used`}
        >
          <span style={{ width: `${p}%` }} />
        </div>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children && <p class="muted">{children}</p>}
    </div>
  );
}

export function ErrorNote({ error }: { error: string | null }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

/** A modal on the native <dialog>: focus is trapped and Escape closes it. */
export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current!;
    if (!d.open) d.showModal();
    const close = () => props.onClose();
    d.addEventListener("close", close);
    return () => d.removeEventListener("close", close);
  }, []);
  return (
    <dialog ref={ref} class={props.wide ? "wide" : ""} aria-labelledby="modal-title">
      <header class="modal-head">
        <h2 id="modal-title">{props.title}</h2>
        <button type="button" class="ghost" aria-label="Close" onClick={() => ref.current!.close()}>
          ✕
        </button>
      </header>
      {props.children}
    </dialog>
  );
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // No clipboard permission (plain http on a LAN address): select the text for Ctrl+C instead.
      const ta = document.createElement("textarea");
      ta.value = text;
      document.body.append(ta);
      ta.select();
      document.execCommand("copy");
      ta.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 1500);
  };
  return (
    <button type="button" onClick={copy} aria-live="polite">
      {done ? "Copied ✓" : label}
    </button>
  );
}

/** A secret shown once: read-only field, copy button, and the warning that it won't be shown again. */
export function SecretOnce({ label, value }: { label: string; value: string }) {
  return (
    <div class="secret">
      <p class="warn" role="alert">
        Copy this key now. It is shown only once; Storage Brain keeps only its hash.
      </p>
      <label>
        {label}
        <div class="row">
          <input readOnly value={value} data-testid="secret" onFocus={(e) => e.currentTarget.select()} />
          <CopyButton text={value} />
        </div>
      </label>
    </div>
  );
}

let toastSet: ((t: string | null) => void) | null = null;
export function toast(message: string) {
  toastSet?.(message);
}
export function Toasts() {
  const [msg, setMsg] = useState<string | null>(null);
  toastSet = setMsg;
  useEffect(() => {
    if (!msg) return;
    const t = setTimeout(() => setMsg(null), 3000);
    return () => clearTimeout(t);
  }, [msg]);
  return (
    <div class="toast" role="status" aria-live="polite">
      {msg}
    </div>
  );
}

/** Horizontal bars (one per item), inline SVG: no chart library, nothing to download. */
export function HBarChart({ items, label }: { items: { name: string; value: number; max?: number | null }[]; label: string }) {
  const max = Math.max(1, ...items.map((i) => Math.max(i.value, i.max ?? 0)));
  const rowH = 28;
  return (
    <svg class="chart" viewBox={`0 0 600 ${items.length * rowH}`} role="img" aria-label={label} preserveAspectRatio="none">
      <title>{label}</title>
      {items.map((it, i) => (
        <g key={it.name} transform={`translate(0 ${i * rowH})`}>
          {it.max ? <rect class="track" x="200" y="6" width={(it.max / max) * 300} height="16" rx="3" /> : null}
          <rect class="fill" x="200" y="6" width={Math.max(1, (it.value / max) * 300)} height="16" rx="3" />
          <text x="0" y="19" class="label">
            {it.name.length > 26 ? `${it.name.slice(0, 25)}…` : it.name}
          </text>
          <text x="508" y="19" class="value">
            {bytes(it.value)}
          </text>
        </g>
      ))}
    </svg>
  );
}

/** Vertical bars per day. */
export function DayChart({ days, label }: { days: { day: string; uploads: number }[]; label: string }) {
  const max = Math.max(1, ...days.map((d) => d.uploads));
  const w = 600 / Math.max(1, days.length);
  return (
    <svg class="chart" viewBox="0 0 600 160" role="img" aria-label={label}>
      <title>{label}</title>
      {days.map((d, i) => {
        const h = (d.uploads / max) * 120;
        return (
          <g key={d.day}>
            <rect class="fill" x={i * w + 1} y={130 - h} width={Math.max(1, w - 2)} height={h}>
              <title>{`${d.day}: ${d.uploads} uploads`}</title>
            </rect>
            {(i === 0 || i === days.length - 1) && (
              <text x={i === 0 ? 0 : 600} y="150" class="label" text-anchor={i === 0 ? "start" : "end"}>
                {d.day}
              </text>
            )}
          </g>
        );
      })}
      <text x="0" y="12" class="label">
        max {max}/day
      </text>
    </svg>
  );
}
