/**
 * Compile-time check that the PostgreSQL tables (./schema.ts) and the SQLite tables (../schema.ts)
 * are the same set, by name, and that each pair's selected row types are mutually assignable: the
 * dialect-neutral repositories cast the pg tables to the SQLite types in one place, which is only
 * sound while this file compiles. Nothing imports it; `npm run typecheck` checks it.
 */
import type * as sqlite from "../schema";
import type * as pg from "./schema";

type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Sqlite = typeof sqlite;
type Pg = typeof pg;

type RowParity = {
  [K in keyof Sqlite]: K extends keyof Pg
    ? Mutual<Sqlite[K]["$inferSelect"], Pg[K]["$inferSelect"]> extends true
      ? Mutual<Sqlite[K]["$inferInsert"], Pg[K]["$inferInsert"]>
      : false
    : false;
};

/** Fails to compile when a table is missing on either side or a row shape differs. */
const parity: { [K in keyof Sqlite]: true } & { [K in Exclude<keyof Pg, keyof Sqlite>]: never } = {} as RowParity;
void parity;
