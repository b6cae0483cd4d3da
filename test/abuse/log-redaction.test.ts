import { afterAll, beforeAll, expect, test } from "bun:test";
import { createApp, withAccessLog } from "../../src/app";
import { createLogger } from "../../src/logger";
import { createHarness, type Harness } from "../support/harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

test("the access log redacts every kind of API key (sk_live_, sk_user_, sk_admin_, any sk_*_)", async () => {
  const { apiKey } = await h.createTenant({ name: "redaction" });
  const issued = await h.json("POST", "/api/v1/tenant/keys", { key: apiKey, body: { userId: "u1", scopes: ["read"] } });
  expect(issued.status).toBe(201);
  const userKey: string = issued.body.apiKey;
  expect(userKey.startsWith("sk_user_")).toBe(true);

  // In-process: the app behind the access-log wrapper with a captured logger; against the binary:
  // the real server's stdout.
  const lines: string[] = [];
  const logger = createLogger("debug", (l) => lines.push(l));
  const inProcess = withAccessLog(createApp({ ...h.rt, logger }, h.services).handle, logger);
  const keys = [apiKey, userKey, "sk_admin_0123456789abcdef0123", "sk_test_abcdefABCDEF0123456789"];
  for (const k of keys) {
    // A key pasted into a URL (a common client mistake) ends up in the access log's path.
    const path = `/api/v1/files/${k}`;
    const res = h.server
      ? await h.req("GET", path, { key: k })
      : await inProcess(new Request(`http://localhost${path}`, { headers: { authorization: `Bearer ${k}` } }));
    expect([400, 401, 404]).toContain(res.status);
  }
  logger.error("request failed", { err: `boom with ${userKey} inside` });
  if (h.server) {
    await Bun.sleep(200); // the last access-log lines reach the pipe
    lines.push(...h.server.output().split("\n"));
  }

  const out = lines.join("\n");
  expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThanOrEqual(keys.length);
  for (const k of keys) {
    const secretPart = k.replace(/^sk_[a-z]+_/, "");
    expect(out).not.toContain(secretPart);
  }
  expect(out).toContain("sk_user_[redacted]");
  expect(out).toContain("sk_live_[redacted]");
  expect(out).toContain("sk_admin_[redacted]");
});
