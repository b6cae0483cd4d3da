import { afterAll, beforeAll, expect } from "bun:test";
import type { Resolver } from "../../src/domain/webhooks/ssrf-guard";
import { deliverDueWebhooks } from "../../src/jobs/webhook-delivery";
import { silentLogger } from "../../src/logger";
import { createHarness, type Harness, inProcessOnly } from "../support/harness";

// DNS rebinding: a name that answers a harmless address when checked and an internal one when
// connected. The sender must resolve once and connect to the address it checked.

let h: Harness;
let tenantId: string;
beforeAll(async () => {
  h = await createHarness();
  tenantId = (await h.createTenant()).id;
});
afterAll(() => h.close());

/** A receiver on a chosen loopback address; records the requests it gets. */
function receiverOn(hostname: string, port = 0) {
  const got: { host: string | null; body: string }[] = [];
  const server = Bun.serve({
    hostname,
    port,
    async fetch(req) {
      got.push({ host: req.headers.get("host"), body: await req.text() });
      return new Response("ok");
    },
  });
  return { port: server.port as number, got, stop: () => server.stop(true) };
}

/** A DNS server that changes its answer: `answers[i]` for the i-th question. */
function rebindingResolver(...answers: string[][]) {
  const asked: string[] = [];
  const resolve: Resolver = async (host) => {
    asked.push(host);
    const a = answers[Math.min(asked.length - 1, answers.length - 1)]!;
    return a.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  return { resolve, asked };
}

async function enqueue(url: string): Promise<string> {
  const id = crypto.randomUUID();
  await h.rt.repos.webhooks.insertDelivery({
    id,
    tenantId,
    event: "file.uploaded",
    fileId: null,
    url,
    payload: JSON.stringify({ probe: id }),
    createdAt: h.clock.now(),
  });
  return id;
}

const send = (resolve: Resolver, allowPrivateNetworks: boolean) =>
  deliverDueWebhooks({
    repos: h.rt.repos,
    clock: h.clock,
    logger: silentLogger,
    maxAttempts: 1,
    backoffMs: 1000,
    timeoutMs: 5000,
    allowPrivateNetworks,
    resolve,
    webhookSecretOf: h.services.tenants.webhookSecretOf,
  });

const inProcess = inProcessOnly("drives the webhook sender by hand with an injected resolver");

inProcess("the request goes to the address that was resolved and checked, never to a second answer", async () => {
  // Two receivers on one port: 127.0.0.2 plays the checked address, 127.0.0.1 the internal one
  // a second lookup of "localhost" would give (the system resolver says 127.0.0.1).
  const checked = receiverOn("127.0.0.2");
  const internal = receiverOn("127.0.0.1", checked.port);
  const dns = rebindingResolver(["127.0.0.2"], ["127.0.0.1"]);
  try {
    const id = await enqueue(`http://localhost:${checked.port}/hook`);
    await send(dns.resolve, true);
    expect(dns.asked).toEqual(["localhost"]); // resolved exactly once
    expect(checked.got.length).toBe(1);
    expect(JSON.parse(checked.got[0]!.body)).toEqual({ probe: id });
    expect(checked.got[0]!.host).toBe(`localhost:${checked.port}`); // the name still travels as Host
    expect(internal.got).toEqual([]);
    expect((await h.rt.repos.webhooks.byId(tenantId, id))?.status).toBe("delivered");
  } finally {
    checked.stop();
    internal.stop();
  }
});

inProcess("with private networks refused, a name answering loopback is refused and nothing is sent", async () => {
  const internal = receiverOn("127.0.0.1");
  try {
    for (const answers of [[["127.0.0.1"]], [["93.184.216.34", "127.0.0.1"]], [["::ffff:127.0.0.1"]]]) {
      const dns = rebindingResolver(...answers);
      await enqueue(`http://rebind.example:${internal.port}/hook`);
      await send(dns.resolve, false);
      expect(dns.asked).toEqual(["rebind.example"]);
    }
    expect(internal.got).toEqual([]);
  } finally {
    internal.stop();
  }
});
