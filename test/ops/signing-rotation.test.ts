import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/harness";
import { api, pngBytes, upload } from "../support/ops-client";
import { BUN, spawnServer } from "../support/spawn-server";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const ADMIN = "sk_admin_signing_test_0123456789";
const OLD = "old-signing-secret-0123456789";
const NEW = "new-signing-secret-9876543210";
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Fetches a signed URL's path (no Bearer key: the token alone must authorize it). */
const get = async (base: string, url: string) => {
  const u = new URL(url, base);
  const res = await fetch(base + u.pathname + u.search);
  return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()) };
};

test("against a running server: URL_SIGNING_SECRET_PREVIOUS verifies old URLs during the grace period only", async () => {
  const env = { DATA_DIR: dir, ADMIN_API_KEY: ADMIN };
  let s = await spawnServer([BUN, MAIN, "serve"], { env: { ...env, URL_SIGNING_SECRET: OLD } });
  const bytes = pngBytes(5000, 3);
  let t: { apiKey: string };
  let oldUrl: string;
  let oldPermanent: string;
  try {
    t = (await api(s.url, "POST", "/api/v1/admin/tenants", ADMIN, { name: "signer" })).body;
    const fileId = await upload(s.url, t.apiKey, bytes);
    oldUrl = (await api(s.url, "GET", `/api/v1/files/${fileId}/signed-url?expiresIn=3600`, t.apiKey)).body.url;
    oldPermanent = (await api(s.url, "GET", `/api/v1/files/${fileId}/permanent-url`, t.apiKey)).body.url;
    expect((await get(s.url, oldUrl)).bytes).toEqual(bytes);
  } finally {
    await s.stop();
  }

  // Rotated, in grace: old URLs still verify; new URLs are signed with the new secret only.
  s = await spawnServer([BUN, MAIN, "serve"], {
    env: { ...env, URL_SIGNING_SECRET: NEW, URL_SIGNING_SECRET_PREVIOUS: OLD },
  });
  let newUrl: string;
  try {
    expect((await get(s.url, oldUrl)).bytes).toEqual(bytes);
    expect((await get(s.url, oldPermanent)).bytes).toEqual(bytes);
    const fileId = new URL(oldUrl, s.url).pathname.split("/")[4]!;
    newUrl = (await api(s.url, "GET", `/api/v1/files/${fileId}/signed-url?expiresIn=3600`, t.apiKey)).body.url;
    expect(newUrl).not.toBe(oldUrl);
    expect((await get(s.url, newUrl)).bytes).toEqual(bytes);
  } finally {
    await s.stop();
  }

  // Grace over (previous secret removed): old URLs are refused, new ones still work.
  s = await spawnServer([BUN, MAIN, "serve"], { env: { ...env, URL_SIGNING_SECRET: NEW } });
  try {
    for (const url of [oldUrl, oldPermanent]) {
      const r = await get(s.url, url);
      expect(r.status).toBe(401);
      expect(r.bytes.byteLength).toBeLessThan(500);
    }
    expect((await get(s.url, newUrl)).bytes).toEqual(bytes);
  } finally {
    await s.stop();
  }
});
