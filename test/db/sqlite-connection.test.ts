import { Database } from "bun:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Connection } from "../../src/db/connection";
import { migrate } from "../../src/db/migrate";
import { createRepos, type Repos } from "../../src/db/repos";
import { openSqlite } from "../../src/db/sqlite.connection";

// The transaction contract of src/db/connection.ts on SQLite's one connection. Transaction bodies
// here sleep on purpose (real ones await only the database) so that other calls arrive while a
// transaction is open.

let conn: Connection;
let repos: Repos;
beforeEach(() => {
  conn = openSqlite(":memory:");
  migrate(conn.sqlite!);
  repos = createRepos(conn);
});
afterEach(() => conn.close());

test("a transaction commits; a throw rolls every write of it back", async () => {
  await repos.tx(async () => {
    await repos.settings.set("a", "1");
    await repos.settings.set("b", "1");
  });
  await expect(
    repos.tx(async () => {
      await repos.settings.set("a", "2");
      throw new Error("boom");
    }),
  ).rejects.toThrow("boom");
  expect(await repos.settings.get("a")).toBe("1");
  expect(await repos.settings.get("b")).toBe("1");
});

test("a call from outside waits for the open transaction and is not rolled back with it", async () => {
  const order: string[] = [];
  const tx = repos.tx(async () => {
    await repos.settings.set("inside", "x");
    await Bun.sleep(30);
    order.push("tx body done");
    throw new Error("rolled back");
  });
  await Bun.sleep(5); // the transaction is open now
  const outside = repos.settings.set("outside", "y").then(() => order.push("outside write done"));
  await expect(tx).rejects.toThrow("rolled back");
  await outside;
  expect(order).toEqual(["tx body done", "outside write done"]);
  expect(await repos.settings.get("inside")).toBeNull();
  expect(await repos.settings.get("outside")).toBe("y");
});

test("transactions run one at a time; a nested tx joins the outer one", async () => {
  let open = 0;
  let maxOpen = 0;
  const body = (key: string) => async () => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    await repos.settings.set(key, "1");
    await Bun.sleep(5);
    await repos.tx(() => repos.settings.set(`${key}.nested`, "1"));
    open--;
  };
  await Promise.all([repos.tx(body("p")), repos.tx(body("q")), repos.tx(body("r"))]);
  expect(maxOpen).toBe(1);
  for (const k of ["p", "q", "r"]) expect(await repos.settings.get(`${k}.nested`)).toBe("1");

  // The nested writes belong to the outer transaction: its rollback takes them too.
  await expect(
    repos.tx(async () => {
      await repos.tx(() => repos.settings.set("joined", "1"));
      throw new Error("outer fails");
    }),
  ).rejects.toThrow();
  expect(await repos.settings.get("joined")).toBeNull();
});

test("afterCommit runs once the transaction has committed, never after a rollback", async () => {
  const seen: string[] = [];
  await repos.tx(async () => {
    repos.afterCommit(() => seen.push("committed"));
    await repos.settings.set("k", "v");
    expect(seen).toEqual([]);
  });
  expect(seen).toEqual(["committed"]);
  await repos
    .tx(async () => {
      repos.afterCommit(() => seen.push("never"));
      throw new Error("no");
    })
    .catch(() => {});
  expect(seen).toEqual(["committed"]);
  repos.afterCommit(() => seen.push("outside: at once"));
  expect(seen).toEqual(["committed", "outside: at once"]);
});

test("work started inside a transaction that outlives it runs outside it, not in the next one", async () => {
  let late: Promise<void> | undefined;
  await repos.tx(async () => {
    late = Bun.sleep(20).then(() => repos.settings.set("late", "1"));
  });
  // A later transaction that fails must not take the late write with it.
  await expect(
    repos.tx(async () => {
      await Bun.sleep(40);
      throw new Error("fails");
    }),
  ).rejects.toThrow();
  await late;
  expect(await repos.settings.get("late")).toBe("1");
});

describe("group commit (src/db/sqlite-commit-groups.ts)", () => {
  // A database file, so that a second connection can tell what has been committed.
  let dir: string;
  let file: Connection;
  let fileRepos: Repos;
  let reader: Database;
  const committed = (key: string) =>
    reader.query<{ value: string }, [string]>("SELECT value FROM settings WHERE key = ?").get(key)?.value ?? null;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sb-group-"));
    file = openSqlite(join(dir, "db.sqlite"));
    migrate(file.sqlite!);
    file.sqlite!.exec("PRAGMA wal_autocheckpoint = 0; PRAGMA wal_checkpoint(TRUNCATE)");
    fileRepos = createRepos(file);
    reader = new Database(join(dir, "db.sqlite"), { readonly: true });
  });
  afterEach(async () => {
    reader.close();
    await file.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("transactions of one turn share one COMMIT, and each is answered only once it is committed", async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const seenWhenAnswered: (string | null)[] = [];
    const all = Promise.all(
      keys.map((k) =>
        fileRepos.tx(() => fileRepos.settings.set(k, "1")).then(() => seenWhenAnswered.push(committed(k))),
      ),
    );
    expect(committed("k0")).toBeNull(); // written, not yet committed
    await all;
    expect(seenWhenAnswered).toEqual(keys.map(() => "1"));
    // One COMMIT appends the settings page once; twenty would append it twenty times.
    const frames = statSync(join(dir, "db.sqlite-wal")).size / (4096 + 24);
    expect(frames).toBeLessThan(5);
  });

  test("a transaction that fails in a shared group takes back only its own writes", async () => {
    const results = await Promise.allSettled([
      fileRepos.tx(() => fileRepos.settings.set("a", "1")),
      fileRepos.tx(async () => {
        await fileRepos.settings.set("b", "1");
        throw new Error("b fails");
      }),
      fileRepos.tx(() => fileRepos.settings.set("c", "1")),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect([committed("a"), committed("b"), committed("c")]).toEqual(["1", null, "1"]);
  });

  test("a call outside a transaction, made while a group is open, is answered after its COMMIT", async () => {
    const tx = fileRepos.tx(() => fileRepos.settings.set("t", "1"));
    let seen: string | null | undefined;
    await fileRepos.settings.set("outside", "1").then(() => {
      seen = committed("outside");
    });
    await tx;
    expect(seen).toBe("1");
  });
});
