import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { hashKey } from "../../src/domain/shared/secrets";
import { databaseText } from "../support/db-dump";
import { ADMIN_KEY, createHarness, type Harness } from "../support/harness";

// API keys are never compared as strings: a presented key is hashed (SHA-256) and looked up by its
// hash (tenant and user keys), or its hash compared in constant time (admin key). Nothing stores a
// raw key. docs/api.md "Security" states this; these tests hold the code to it.

const SRC = join(import.meta.dir, "../../src");
const sources = readdirSync(SRC, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => ({ file: relative(SRC, join(SRC, f)), text: readFileSync(join(SRC, f), "utf8") }));

const CREDENTIAL = /\b(apiKey|rawKey|token|secret|authorization|bearer|password|adminKey|metricsToken)\b/i;
// A bare `key` is a credential only where requests are authenticated (elsewhere it is a storage key).
const AUTH_FILES = /auth|tenants|secrets|access|metrics|console|plugins/;
const AUTH_KEY = /\bkey\b/i;
const HARMLESS = /^(undefined|null|true|false|""|\d+)$/;

test("no source compares a credential with ==/!=/===/!== (only with undefined or null)", () => {
  const offending: string[] = [];
  for (const { file, text } of sources) {
    text.split("\n").forEach((raw, i) => {
      if (/^\s*(\/\/|\*)/.test(raw)) return;
      // String literals are data, not operands ("master.key" is a file name, not a key).
      const line = raw.replace(/"[^"]*"|'[^']*'|`[^`]*`/g, '""');
      for (const m of line.matchAll(/([\w.$?[\]"'()]+)\s*(!==|===|!=|==)\s*([\w.$?[\]"'()]+)/g)) {
        const [a = "", b = ""] = [m[1]!, m[3]!].map((x) => x.replace(/^[(!]+|[);,]+$/g, ""));
        const isCredential = (x: string) => CREDENTIAL.test(x) || (AUTH_FILES.test(file) && AUTH_KEY.test(x));
        const credentialSide = isCredential(a) || isCredential(b);
        if (credentialSide && !HARMLESS.test(a) && !HARMLESS.test(b)) offending.push(`${file}:${i + 1}: ${raw.trim()}`);
      }
      if (/\.(localeCompare|startsWith|endsWith|includes)\(\s*(key|apiKey|token|secret)\b/.test(line))
        offending.push(`${file}:${i + 1}: ${raw.trim()}`);
    });
  }
  expect(offending).toEqual([]);
});

test("constant-time comparison lives in one helper, and it compares digests (no length leak)", () => {
  const users = sources.filter((s) => s.text.includes("timingSafeEqual(")).map((s) => s.file);
  expect(users).toEqual(["domain/shared/secrets.ts"]);
  const secrets = sources.find((s) => s.file === "domain/shared/secrets.ts")!.text;
  const safeEqual = secrets.slice(secrets.indexOf("export function safeEqual"));
  expect(safeEqual.slice(0, safeEqual.indexOf("\n}"))).toMatch(/digest/);
});

test("tenant, user and admin keys are looked up by hash: the database never holds a raw key", async () => {
  const h: Harness = await createHarness();
  try {
    const t = await h.createTenant();
    const user = await h.json("POST", "/api/v1/tenant/keys", {
      key: t.apiKey,
      body: { userId: "alice", scopes: ["read"] },
    });
    expect(user.status).toBe(201);
    const userKey = user.body.apiKey as string;
    // Each key works (so it is stored somehow)...
    expect((await h.req("GET", "/api/v1/tenant/quota", { key: t.apiKey })).status).toBe(200);
    expect((await h.req("GET", "/api/v1/admin/tenants", { key: ADMIN_KEY })).status).toBe(200);
    // ...and a key one character off is just unknown.
    const off = t.apiKey.slice(0, -1) + (t.apiKey.endsWith("A") ? "B" : "A");
    expect((await h.req("GET", "/api/v1/tenant/quota", { key: off })).status).toBe(401);
    // ...but only as its SHA-256: no raw key anywhere in the database.
    const db = await databaseText(h.rt);
    for (const k of [t.apiKey, userKey, ADMIN_KEY]) {
      expect(db.includes(k)).toBe(false);
      expect(db.includes(hashKey(k))).toBe(true);
    }
  } finally {
    await h.close();
  }
});
