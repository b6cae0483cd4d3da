import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHarness, type Harness } from "../support/harness";

/** /docs works on an air-gapped host: everything the page loads is served by this server. */
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

test("/docs loads only same-origin assets, each served with its content type; the spec is at /docs/json", async () => {
  const page = await h.req("GET", "/docs");
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toStartWith("text/html");
  const html = await page.text();
  expect(html).not.toMatch(/https?:\/\//); // no absolute URL at all: nothing off-host
  const refs = [...html.matchAll(/<(script|link)\b[^>]*?\b(?:src|href)="([^"]*)"/g)].map((m) => ({
    tag: m[1],
    url: m[2] as string,
  }));
  expect(refs.filter((r) => r.tag === "script").length).toBeGreaterThanOrEqual(1);
  expect(refs.filter((r) => r.tag === "link").length).toBeGreaterThanOrEqual(1);
  for (const { tag, url } of refs) {
    expect(url).toMatch(/^\/(?!\/)/); // same origin, not protocol-relative
    const res = await h.req("GET", url);
    expect(`${url} ${res.status}`).toBe(`${url} 200`);
    const body = await res.text();
    expect(body.length).toBeGreaterThan(100);
    if (tag === "script") expect(res.headers.get("content-type")).toMatch(/^(text|application)\/javascript/);
    else expect(res.headers.get("content-type")).toStartWith("text/css");
  }
  // The bundle is the real Swagger UI, and the init script points it at our spec.
  expect(await (await h.req("GET", "/docs/assets/swagger-ui-bundle.js")).text()).toContain("SwaggerUIBundle");
  expect(await (await h.req("GET", "/docs/assets/init.js")).text()).toContain('"/docs/json"');
  const spec = await h.json("GET", "/docs/json");
  expect(spec.status).toBe(200);
  expect(spec.body.openapi).toMatch(/^3\./);
  expect(Object.keys(spec.body.paths)).toContain("/api/v1/files/");
});
