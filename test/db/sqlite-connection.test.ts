import { afterEach, beforeEach, expect, test } from "bun:test";
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
