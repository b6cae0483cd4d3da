import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { Kind, TransformKind, type TSchema } from "@sinclair/typebox";
import { ADMIN_KEY, createHarness, type Harness } from "../support/harness";

/**
 * Every numeric query parameter of every route, read from the live route table: values that are
 * not an integer in the declared range answer 400 VALIDATION_ERROR (never 500, never accepted).
 * A new route is covered as soon as it exists; a query schema this test cannot classify fails it.
 */
let h: Harness;
let tenantKey: string;
beforeAll(async () => {
  h = await createHarness();
  tenantKey = (await h.createTenant()).apiKey;
});
afterAll(() => h.close());

type Kinded = TSchema & { [Kind]?: string; anyOf?: Kinded[]; minimum?: number; maximum?: number };

/** "numeric" (with its range), "other" (strings, literals: not this test's subject), or null. */
function classify(s: Kinded): { numeric: true; minimum?: number; maximum?: number } | { numeric: false } | null {
  const kind = s[Kind];
  if (kind === "Number" || kind === "Integer") return { numeric: true, minimum: s.minimum, maximum: s.maximum };
  if (kind === "Union" && s.anyOf) {
    // Elysia's t.Integer/t.Numeric: Transform(Union[String(format), Integer|Number(range)]).
    const num = s.anyOf.find((a) => a[Kind] === "Number" || a[Kind] === "Integer");
    if (num && TransformKind in s) return { numeric: true, minimum: num.minimum, maximum: num.maximum };
    if (s.anyOf.every((a) => a[Kind] === "Literal")) return { numeric: false };
  }
  if (kind === "String" || kind === "Literal") return { numeric: false };
  return null;
}

const BAD = ["1.5", "-1", "abc", "1e999", "Infinity", "NaN", "99999999999999999999", "12abc"];

function fillPath(path: string): string {
  return path
    .replace(/:name/g, "x_20260101_000000_abcdef12.png")
    .replace(/:bucket/g, "default")
    .replace(/:[A-Za-z]+/g, () => randomUUID())
    .replace(/\*/g, "x");
}

test("every numeric query parameter on every route refuses non-integers, out-of-range and non-numbers with 400", async () => {
  const routes = (h.app.routes as { method: string; path: string; hooks?: { query?: Kinded } }[]).filter(
    (r) => r.hooks?.query,
  );
  const unreadable: string[] = [];
  const cases: { method: string; path: string; param: string; value: string }[] = [];
  for (const r of routes) {
    const q = r.hooks?.query as Kinded & { properties?: Record<string, Kinded> };
    if (q[Kind] !== "Object" || !q.properties) {
      unreadable.push(`${r.method} ${r.path}: query schema is not an object`);
      continue;
    }
    for (const [param, schema] of Object.entries(q.properties)) {
      const c = classify(schema);
      if (c === null) unreadable.push(`${r.method} ${r.path} ?${param}: ${String(schema[Kind])}`);
      else if (c.numeric) {
        // Each numeric parameter must declare its range: "huge" has to be refused too.
        if (c.minimum === undefined || c.maximum === undefined)
          unreadable.push(`${r.method} ${r.path} ?${param}: no minimum/maximum`);
        const edges = [c.minimum, c.maximum].every((v) => v !== undefined)
          ? [String((c.minimum as number) - 1), String((c.maximum as number) + 1)]
          : [];
        for (const value of [...BAD, ...edges]) cases.push({ method: r.method, path: r.path, param, value });
      }
    }
  }
  expect(unreadable).toEqual([]);
  // The table really was read: the known numeric parameters are among the cases.
  const covered = new Set(cases.map((c) => `${c.method} ${c.path} ${c.param}`));
  for (const known of [
    "GET /api/v1/files/ limit",
    "GET /api/v1/files/:fileId/signed-url expiresIn",
    "GET /api/v1/files/:fileId/download expires",
    "GET /api/v1/storage/objects/:name/presigned-url expiresIn",
    "GET /api/v1/admin/tenants limit",
  ])
    expect(covered).toContain(known);

  const failures: string[] = [];
  for (const c of cases) {
    const path = `${fillPath(c.path)}?${c.param}=${encodeURIComponent(c.value)}`;
    const key = c.path.startsWith("/api/v1/admin") ? ADMIN_KEY : tenantKey;
    const res = await h.json(c.method, path, { key, headers: { "tus-resumable": "1.0.0" } });
    if (res.status !== 400 || res.body?.error?.code !== "VALIDATION_ERROR")
      failures.push(`${c.method} ${path} → ${res.status} ${JSON.stringify(res.body).slice(0, 120)}`);
  }
  expect(failures).toEqual([]);
  console.log(`query validation: ${cases.length} cases over ${covered.size} numeric parameters`);
});

test("the reported cases: limit=0, limit=1.5 and expiresIn=59 are 400, and valid values come back as numbers", async () => {
  for (const q of ["limit=0", "limit=1.5", "limit=101"]) {
    const r = await h.json("GET", `/api/v1/files?${q}`, { key: tenantKey });
    expect(`${q} → ${r.status} ${r.body.error?.code}`).toBe(`${q} → 400 VALIDATION_ERROR`);
  }
  const t = await h.createTenant();
  const req = await h.json("POST", "/api/v1/upload/request", {
    key: t.apiKey,
    body: { fileType: "application/pdf", fileName: "a.pdf", fileSizeBytes: 9 },
  });
  await h.json("PUT", req.body.presignedUrl, { body: new TextEncoder().encode("%PDF-1.7\n") });
  const id = req.body.fileId;
  const bad = await h.json("GET", `/api/v1/files/${id}/signed-url?expiresIn=59`, { key: t.apiKey });
  expect(bad.status).toBe(400);
  expect(bad.body.error.code).toBe("VALIDATION_ERROR");
  const ok = await h.json("GET", `/api/v1/files/${id}/signed-url?expiresIn=60`, { key: t.apiKey });
  expect(ok.body.expiresIn).toBe(60);
  const page = await h.json("GET", "/api/v1/files?limit=1", { key: t.apiKey });
  expect(page.status).toBe(200);
  expect(page.body.files).toHaveLength(1);
});
