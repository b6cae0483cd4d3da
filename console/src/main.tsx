import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./styles.css";
import { get, signIn, signOut, whenSignedOut } from "./api";
import { Toasts } from "./ui";
import { Overview } from "./views/overview";
import { TenantPage } from "./views/tenant";
import { Tenants } from "./views/tenants";
import { Usage } from "./views/usage";

/** Hash routes (#/tenants/<id>/files): the server serves one page; no fallback routing needed. */
function useRoute(): string[] {
  const parse = () => location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const [r, setR] = useState(parse);
  useEffect(() => {
    const on = () => setR(parse());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return r;
}

function SignIn({ onDone }: { onDone: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const input = form.elements.namedItem("key") as HTMLInputElement;
    setBusy(true);
    try {
      await signIn(input.value.trim());
      input.value = ""; // the key is not kept; the session cookie (HttpOnly) stands in for it
      onDone();
    } catch (err) {
      setError(
        (err as Error & { status?: number }).status === 401 ? "That is not the admin key." : (err as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <form onSubmit={submit} class="card">
        <h1>Storage Brain</h1>
        <p class="muted">Sign in with the admin API key (printed once at first start, or your ADMIN_API_KEY).</p>
        <label>
          Admin key
          <input name="key" type="password" autoComplete="current-password" required autoFocus />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}

function App() {
  const [state, setState] = useState<"checking" | "in" | "out">("checking");
  const route = useRoute();
  useEffect(() => {
    whenSignedOut(() => setState("out"));
    get("/api/v1/admin/session").then(
      () => setState("in"),
      () => setState("out"),
    );
  }, []);
  if (state === "checking") return <p class="muted pad">Loading…</p>;
  if (state === "out") return <SignIn onDone={() => setState("in")} />;
  const [section = "overview", id, tab] = route;
  const nav = [
    ["overview", "Overview"],
    ["tenants", "Tenants"],
    ["usage", "Usage"],
  ] as const;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Storage Brain</span>
        <nav aria-label="Main">
          {nav.map(([r, label]) => (
            <a key={r} href={`#/${r}`} aria-current={section === r ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <button
          type="button"
          class="ghost"
          onClick={async () => {
            await signOut();
            setState("out");
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {section === "tenants" && id ? (
          <TenantPage id={id} tab={tab ?? "files"} />
        ) : section === "tenants" ? (
          <Tenants />
        ) : section === "usage" ? (
          <Usage />
        ) : (
          <Overview />
        )}
      </main>
      <Toasts />
    </>
  );
}

render(<App />, document.getElementById("app")!);
