import { openDatabase } from "../../src/db/client";
import { openPostgres } from "../../src/db/pg/connect";
import * as pgSchema from "../../src/db/pg/schema";
import * as sqliteSchema from "../../src/db/schema";

type Row = Record<string, unknown>;
export type AllRows = Record<string, Row[]>;

/** Primary-key properties per table, for a dialect-independent row order (text collations differ). */
const PK: Record<string, string[]> = {
  settings: ["key"],
  fileStats: ["tenantId", "workspaceId", "context", "fileType"],
  tusUploads: ["fileId"],
  tusUploadParts: ["fileId", "partNumber"],
  consoleSessions: ["idHash"],
};
const order = (table: string, rows: Row[]) => {
  const key = (r: Row) => JSON.stringify((PK[table] ?? ["id"]).map((p) => r[p]));
  return rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
};

/** Every table's rows of a migrated database, through drizzle (JS shapes), keyed by schema name. */
export async function allRows(url: string): Promise<AllRows> {
  const out: AllRows = {};
  if (url.startsWith("file:")) {
    const db = openDatabase(url.slice("file:".length));
    try {
      for (const [name, t] of Object.entries(sqliteSchema)) out[name] = order(name, db.select().from(t).all() as Row[]);
    } finally {
      db.$client.close();
    }
  } else {
    const db = openPostgres(url, { max: 1 });
    try {
      for (const [name, t] of Object.entries(pgSchema)) out[name] = order(name, (await db.select().from(t)) as Row[]);
    } finally {
      await db.$client.close();
    }
  }
  return out;
}
