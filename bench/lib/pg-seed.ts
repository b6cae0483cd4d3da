/**
 * Seeds a PostgreSQL database straight through SQL, the twin of `seed.ts` (same tenant, same file
 * rows: names, sizes, contexts, times 50 ms apart): migrations, the tenant, then all `n` file rows
 * in ONE `INSERT … SELECT … FROM generate_series(0, n-1)` run by the server itself (no row crosses
 * the wire). The per-row file_stats triggers are skipped for that statement
 * (`session_replication_role = replica`, the bench connects as the superuser) and the counters are
 * written by one `GROUP BY` instead: 1M trigger upserts on four counter rows would take minutes.
 * The secondary indexes are dropped for the load and recreated from their own definitions after
 * it, in the same transaction (1M rows: 58 s here, 142 s maintaining them row by row).
 * Then `VACUUM ANALYZE` so the planner has statistics, as a long-running database would.
 */
import { SQL } from "bun";
import { openPostgres } from "../../src/db/pg/connect";
import { migratePostgres } from "../../src/db/pg/migrate";
import { encodeCursor } from "../../src/domain/shared/cursor";
import { displayPrefix, generateApiKey, hashKey } from "../../src/domain/shared/secrets";
import { tenantObjectPrefix } from "../../src/storage/backend";
import { type Seeded, seedDataKey } from "./seed";

export async function seedPgFiles(
  url: string,
  n: number,
  opts: { masterKey: string; depth?: number; samples?: number },
): Promise<Seeded> {
  const t0 = performance.now();
  const dataKey = await seedDataKey(opts.masterKey); // the rows' data key, wrapped by the servers' MASTER_KEY
  const db = openPostgres(url, { max: 1 });
  await migratePostgres(db);
  await db.$client.close();

  const sql = new SQL({ url, max: 1 });
  try {
    const apiKey = generateApiKey();
    const tenantId = crypto.randomUUID();
    const now = Date.now();
    const base = now - n * 50;
    await sql`INSERT INTO tenants (id, name, api_key_hash, key_prefix, quota_bytes, used_bytes, reserved_bytes, webhook_secret, created_at, updated_at)
              VALUES (${tenantId}, 'bench-seeded', ${hashKey(apiKey)}, ${displayPrefix(apiKey)}, ${2 ** 50}, 0, 0, 'whsec_bench', ${now}, ${now})`;
    await sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      await tx`SET LOCAL maintenance_work_mem = '256MB'`;
      // Secondary indexes are built once after the load (sorted), not maintained row by row.
      const indexes = (await tx`SELECT indexname, indexdef FROM pg_indexes
        WHERE tablename = 'files' AND indexname <> 'files_pkey'`) as { indexname: string; indexdef: string }[];
      for (const i of indexes) await tx.unsafe(`DROP INDEX ${i.indexname}`);
      // Same columns and values as seed.ts; the storage key is objectKeyFor(tenant, id) spelled in SQL.
      await tx`
        INSERT INTO files (id, tenant_id, workspace_id, original_name, file_type, size_bytes, context, tags, metadata,
          processing_status, storage_key, reserved_bytes, charged_bytes, sha256, wrapped_key, key_id, segment_size,
          created_at, updated_at, uploaded_at)
        SELECT f.id, ${tenantId}, NULL, 'photo-' || f.i || '.png', 'image/png', 1024 + (f.i * 7919) % 5000000,
          (ARRAY['avatars', 'documents', 'invoices', NULL])[f.i % 4 + 1], NULL, NULL,
          'completed', ${tenantObjectPrefix(tenantId)} || left(f.id, 2) || '/' || f.id, 0, 1024 + (f.i * 7919) % 5000000, repeat('ab', 32), ${dataKey.wrapped},
          ${dataKey.keyId}, 1048576, ${base} + f.i * 50, ${base} + f.i * 50, ${base} + f.i * 50
        FROM (SELECT i, gen_random_uuid()::text AS id FROM generate_series(0, ${n - 1}::bigint) AS i) AS f`;
      for (const i of indexes) await tx.unsafe(i.indexdef);
      await tx`
        INSERT INTO file_stats (tenant_id, workspace_id, context, file_type, file_count, total_bytes)
        SELECT tenant_id, '', coalesce(context, ''), file_type, count(*), sum(size_bytes)
        FROM files WHERE tenant_id = ${tenantId} GROUP BY 1, 2, 3, 4`;
      await tx`UPDATE tenants SET used_bytes = (SELECT sum(size_bytes) FROM files WHERE tenant_id = ${tenantId}) WHERE id = ${tenantId}`;
    });
    await sql`VACUUM ANALYZE files`;
    await sql`VACUUM ANALYZE file_stats`;

    const depthIndex = Math.floor(n * (1 - (opts.depth ?? 0.9)));
    const [at] =
      await sql`SELECT created_at, id FROM files WHERE tenant_id = ${tenantId} AND created_at = ${base + depthIndex * 50}`;
    const sampleEvery = Math.max(1, Math.floor(n / (opts.samples ?? 1000)));
    const samples =
      await sql`SELECT id FROM files WHERE tenant_id = ${tenantId} AND ((created_at - ${base}) / 50) % ${sampleEvery} = 0`;
    return {
      apiKey,
      tenantId,
      deepCursor: encodeCursor({ createdAt: Number(at.created_at), id: at.id }),
      sampleIds: samples.map((r: { id: string }) => r.id),
      seedMs: performance.now() - t0,
    };
  } finally {
    await sql.close();
  }
}
