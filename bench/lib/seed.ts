/**
 * Seeds a data dir's SQLite file directly (the server is not running): migrations, then with raw
 * SQL (columns of migrations/0001_init.sql) one tenant whose key hash is made by the server's own
 * hashKey, and `n` completed file rows in batched transactions; the file_stats triggers keep the totals.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDatabase } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import { encodeCursor } from "../../src/domain/shared/cursor";
import { displayPrefix, generateApiKey, hashKey } from "../../src/domain/shared/secrets";
import { objectKeyFor } from "../../src/storage/backend";
import { MasterKey } from "../../src/storage/crypto";

export interface Seeded {
  apiKey: string;
  tenantId: string;
  /** a cursor positioned `depth` of the way into the newest-first listing */
  deepCursor: string;
  /** ids of random seeded files, for GET /files/:id */
  sampleIds: string[];
  seedMs: number;
}

const CONTEXTS = ["avatars", "documents", "invoices", null];

/**
 * A data key wrapped by the master key `masterKeyB64`, for seeded rows: a server refuses to start
 * on files wrapped by a key it doesn't hold (docs/operations.md), so seeded rows carry a real one.
 */
export async function seedDataKey(masterKeyB64: string): Promise<{ wrapped: string; keyId: string }> {
  const { wrapped, keyId } = await (await MasterKey.fromRaw(Buffer.from(masterKeyB64, "base64"))).newDataKey();
  return { wrapped, keyId };
}

/** Seeds `dataDir` (its master.key written too, so the server starts with the key the rows are wrapped by). */
export async function seedFiles(
  dataDir: string,
  n: number,
  opts: { depth?: number; samples?: number } = {},
): Promise<Seeded> {
  const t0 = performance.now();
  const masterKey = randomBytes(32).toString("base64");
  writeFileSync(join(dataDir, "master.key"), `${masterKey}\n`, { mode: 0o600 });
  const dataKey = await seedDataKey(masterKey);
  const db = openDatabase(join(dataDir, "storage-brain.db"));
  const sqlite = db.$client;
  migrate(sqlite);
  const apiKey = generateApiKey();
  const tenant = { id: randomUUID() };
  sqlite
    .prepare(
      `INSERT INTO tenants (id, name, api_key_hash, key_prefix, quota_bytes, used_bytes, reserved_bytes, allowed_file_types, webhook_secret, created_at, updated_at)
       VALUES (?, 'bench-seeded', ?, ?, ?, 0, 0, NULL, 'whsec_bench', ?, ?)`,
    )
    .run(tenant.id, hashKey(apiKey), displayPrefix(apiKey), 2 ** 50, Date.now(), Date.now());

  const insert = sqlite.prepare(
    `INSERT INTO files (id, tenant_id, workspace_id, original_name, file_type, size_bytes, context, tags, metadata, processing_status,
       storage_key, reserved_bytes, charged_bytes, sha256, wrapped_key, key_id, segment_size, created_at, updated_at, uploaded_at)
     VALUES (?, ?, NULL, ?, 'image/png', ?, ?, NULL, NULL, 'completed', ?, 0, ?, ?, ?, ?, 1048576, ?, ?, ?)`,
  );
  const depthIndex = Math.floor(n * (1 - (opts.depth ?? 0.9)));
  const sampleEvery = Math.max(1, Math.floor(n / (opts.samples ?? 1000)));
  const base = Date.now() - n * 50;
  const sampleIds: string[] = [];
  let cursorAt = { createdAt: 0, id: "" };
  let usedBytes = 0;
  const BATCH = 50_000;
  for (let from = 0; from < n; from += BATCH) {
    sqlite.transaction(() => {
      for (let i = from; i < Math.min(n, from + BATCH); i++) {
        const id = randomUUID();
        const size = 1024 + ((i * 7919) % 5_000_000);
        const at = base + i * 50;
        usedBytes += size;
        insert.run(
          id,
          tenant.id,
          `photo-${i}.png`,
          size,
          CONTEXTS[i % CONTEXTS.length]!,
          objectKeyFor(tenant.id, id),
          size,
          "ab".repeat(32),
          dataKey.wrapped,
          dataKey.keyId,
          at,
          at,
          at,
        );
        if (i === depthIndex) cursorAt = { createdAt: at, id };
        if (i % sampleEvery === 0) sampleIds.push(id);
      }
    })();
  }
  sqlite.prepare("UPDATE tenants SET used_bytes = ? WHERE id = ?").run(usedBytes, tenant.id);
  sqlite.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite.close();
  return { apiKey, tenantId: tenant.id, deepCursor: encodeCursor(cursorAt), sampleIds, seedMs: performance.now() - t0 };
}
