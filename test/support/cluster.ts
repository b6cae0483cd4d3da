import { randomBytes } from "node:crypto";
import { type LiveServer, startLiveServer } from "./live-server";
import { createTestPgDatabase, type TestPgDatabase } from "./pg";
import { type S3Peer, startS3 } from "./s3";

/**
 * Several instances of the product (source, or the binary under `npm run test:binary`) serving one
 * deployment: one fresh PostgreSQL database, one s3rver bucket, the same master key, URL signing
 * secret and admin key; each its own (empty) data dir. README "Scaling out" describes the topology.
 */
export interface Cluster {
  db: TestPgDatabase;
  s3: S3Peer;
  /** The settings every instance shares (what the README says must be equal on all). */
  env: Record<string, string>;
  instances: LiveServer[];
  /** Starts one more instance with the shared settings (plus `extra`), and adds it to `instances`. */
  add(extra?: Record<string, string>): Promise<LiveServer>;
  close(): Promise<void>;
}

export async function startCluster(n: number, extra: Record<string, string> = {}): Promise<Cluster> {
  const db = await createTestPgDatabase();
  const s3 = await startS3();
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    MASTER_KEY: randomBytes(32).toString("base64"),
    URL_SIGNING_SECRET: randomBytes(32).toString("hex"),
    ...Object.fromEntries(Object.entries(s3.settings(`cluster-${Date.now()}/`)).map(([k, v]) => [k, String(v)])),
    ...extra,
  };
  const instances: LiveServer[] = [];
  const add = async (more: Record<string, string> = {}) => {
    const s = await startLiveServer({ ...env, ...more });
    instances.push(s);
    return s;
  };
  // One first, so the schema is migrated once before the others start (they would wait on the
  // migration lock anyway; starting them together is its own test).
  await add();
  await Promise.all(Array.from({ length: n - 1 }, () => add()));
  return {
    db,
    s3,
    env,
    instances,
    add,
    async close() {
      await Promise.all(instances.map((s) => s.close().catch(() => {})));
      await s3.close();
      await db.drop();
    },
  };
}
