import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/harness";
import { api, download, pngBytes, upload } from "../support/ops-client";
import { BUN, inheritedEnv, spawnServer } from "../support/spawn-server";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const ADMIN = "sk_admin_rotation_test_0123456789";
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { DATA_DIR: dir, ADMIN_API_KEY: ADMIN, URL_SIGNING_SECRET: "fixed-signing-secret-0123456789" };

const keyIds = () => {
  const db = new Database(join(dir, "storage-brain.db"), { readonly: true });
  try {
    return db
      .query("SELECT key_id AS k, count(*) AS n FROM files WHERE wrapped_key IS NOT NULL GROUP BY key_id")
      .all() as {
      k: string;
      n: number;
    }[];
  } finally {
    db.close();
  }
};

const rotate = (args: string[] = []) =>
  Bun.spawn([BUN, MAIN, "admin", "rotate-master-key", ...args], {
    env: { ...inheritedEnv(), ...env },
    stdout: "pipe",
    stderr: "pipe",
  });

test("against a running server: master key rotation killed with -9 halfway, resumed, every file still downloads", async () => {
  let s = await spawnServer([BUN, MAIN, "serve"], { env });
  const files = new Map<string, Uint8Array>();
  try {
    const t = (await api(s.url, "POST", "/api/v1/admin/tenants", ADMIN, { name: "rotating" })).body;
    for (let i = 0; i < 40; i++) {
      const bytes = pngBytes(1000 + i * 997, i);
      files.set(await upload(s.url, t.apiKey, bytes), bytes);
    }
    const big = pngBytes(3 * 1024 * 1024 + 5, 99); // several encryption segments
    files.set(await upload(s.url, t.apiKey, big), big);
    const [before] = keyIds();
    expect(before!.n).toBe(41);

    // 1) Start slowly (4 rows per batch, 150 ms apart) and kill -9 once a progress line shows it mid-way.
    const p = rotate(["--batch-size", "4", "--pause-ms", "150"]);
    let out = "";
    const decoder = new TextDecoder();
    for await (const chunk of p.stdout) {
      out += decoder.decode(chunk);
      const done = [...out.matchAll(/re-wrapped: (\d+)\/41/g)].map((m) => Number(m[1]));
      if (done.some((n) => n > 0 && n < 41)) break;
    }
    p.kill("SIGKILL");
    await p.exited;
    expect(out).toContain(`Starting master key rotation ${before!.k} -> `);
    const mixed = keyIds();
    expect(mixed).toHaveLength(2); // some rows re-wrapped, some not
    expect(existsSync(join(dir, "master.key.next"))).toBe(true);

    // 2) Interrupted: the running server reads files under both keys, and wraps new ones with the new key.
    for (const [id, bytes] of files) expect(await download(s.url, t.apiKey, id)).toEqual(bytes);
    await Bun.sleep(1100); // servers re-check the key files at most once a second
    const during = pngBytes(7777, 1234);
    const duringId = await upload(s.url, t.apiKey, during);
    files.set(duringId, during);
    const newKeyId = mixed.find((r) => r.k !== before!.k)!.k;
    expect(keyIds().find((r) => r.k === newKeyId)!.n).toBe(mixed.find((r) => r.k === newKeyId)!.n + 1);

    // 3) Resume to the end.
    const resumed = rotate();
    const text = await new Response(resumed.stdout).text();
    expect(await resumed.exited).toBe(0);
    expect(text).toContain(`Resuming master key rotation ${before!.k} -> ${newKeyId}`);
    expect(text).toContain("Master key rotated");
    expect(keyIds()).toEqual([{ k: newKeyId, n: 42 }]);
    expect(existsSync(join(dir, "master.key.next"))).toBe(false);
    expect(readdirSync(dir)).toContain(`master.key.retired-${before!.k}`);
    for (const [id, bytes] of files) expect(await download(s.url, t.apiKey, id)).toEqual(bytes);
    const audit = (await api(s.url, "GET", "/api/v1/admin/audit?actorType=cli", ADMIN)).body.entries;
    expect(audit.map((e: { action: string }) => e.action)).toEqual([
      "master-key.rotate.finish",
      "master-key.rotate.start",
    ]);
    await s.stop();

    // 4) A fresh process knows only the new key (master.key): every file still downloads.
    s = await spawnServer([BUN, MAIN, "serve"], { env });
    for (const [id, bytes] of files) expect(await download(s.url, t.apiKey, id)).toEqual(bytes);
  } finally {
    await s.stop();
  }
}, 60_000);
