import { useState } from "preact/hooks";
import { admin, api, get } from "../api";
import { date } from "../format";
import { Empty, ErrorNote, toast, useLoad } from "../ui";

/** A tenant's webhook endpoints and its delivery log, with retry and a test event. */
export function Webhooks({ tenantId }: { tenantId: string }) {
  const eps = useLoad(() => get(admin(`/tenants/${tenantId}/webhooks`)), [tenantId]);
  const dels = useLoad(() => get(admin(`/tenants/${tenantId}/webhooks/deliveries?limit=50`)), [tenantId]);
  const [error, setError] = useState<string | null>(null);
  const act = (fn: () => Promise<unknown>, done: string) => async () => {
    try {
      await fn();
      toast(done);
      setError(null);
      eps.reload();
      dels.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const endpoints = eps.data?.webhooks ?? [];
  const deliveries = dels.data?.deliveries ?? [];
  return (
    <div class="stack">
      <h2>Endpoints</h2>
      <form
        class="row wrap"
        onSubmit={async (e) => {
          e.preventDefault();
          const form = e.currentTarget;
          const url = String(new FormData(form).get("url")).trim();
          await act(() => api("POST", admin(`/tenants/${tenantId}/webhooks`), { url }), "Endpoint added")();
          form.reset();
        }}
      >
        <label class="grow">
          Endpoint URL <span class="muted small">(receives file.uploaded and file.failed)</span>
          <input name="url" type="url" required placeholder="https://example.com/hooks/storage" />
        </label>
        <button type="submit" class="primary">
          Add endpoint
        </button>
      </form>
      <ErrorNote error={error ?? eps.error} />
      {eps.data && endpoints.length === 0 && (
        <Empty title="No webhook endpoints">Add a URL above to be told when uploads complete or fail.</Empty>
      )}
      <ul class="cards" aria-label="Webhook endpoints">
        {endpoints.map((w: { id: string; url: string; events: string[] }) => (
          <li key={w.id} class="card row spread wrap">
            <span class="ellipsis">
              <code>{w.url}</code> <span class="muted small">{w.events.join(", ")}</span>
            </span>
            <button
              type="button"
              class="danger-ghost"
              onClick={act(() => api("DELETE", admin(`/tenants/${tenantId}/webhooks/${w.id}`)), "Endpoint removed")}
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
      <div class="row spread wrap">
        <h2>Deliveries</h2>
        <div class="row">
          <button type="button" onClick={() => dels.reload()}>
            Refresh
          </button>
          <button
            type="button"
            disabled={endpoints.length === 0}
            onClick={act(() => api("POST", admin(`/tenants/${tenantId}/webhooks/test`)), "Test event queued")}
          >
            Send test event
          </button>
        </div>
      </div>
      {dels.data && deliveries.length === 0 && <Empty title="No deliveries yet" />}
      {deliveries.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Webhook deliveries</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Next attempt</th>
                <th scope="col">Response</th>
                <th scope="col">Last error</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((d: any) => (
                <tr key={d.id} data-testid="delivery-row" data-status={d.status}>
                  <td>
                    {d.event}
                    <div class="muted small ellipsis">{d.url}</div>
                  </td>
                  <td>
                    <span class={`badge ${d.status}`}>{d.status}</span>
                  </td>
                  <td>{d.attempts}</td>
                  <td>{d.nextAttemptAt ? date(d.nextAttemptAt) : "—"}</td>
                  <td>{d.lastStatusCode ?? "—"}</td>
                  <td class="small">{d.lastError ?? "—"}</td>
                  <td>
                    {d.status === "dead" && (
                      <button
                        type="button"
                        onClick={act(
                          () => api("POST", admin(`/tenants/${tenantId}/webhooks/deliveries/${d.id}/retry`)),
                          "Delivery re-queued",
                        )}
                      >
                        Retry
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
