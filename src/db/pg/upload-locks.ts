import { randomUUID } from "node:crypto";
import { SQL } from "bun";
import type { UploadLocks } from "../../domain/uploads/upload-locks";
import type { Logger } from "../../logger";

/** First key of the two-key advisory locks (its own key space; migrate's lock uses the one-key form). */
const TUS_LOCK_CLASS = 0x7475; // "tu"
const ABORT_CHANNEL = "sb_tus_abort";
const POLL_MS = 50;

/**
 * UploadLocks over PostgreSQL session advisory locks (`pg_try_advisory_lock(class, hashtext(id))`)
 * held on one connection of this instance's own, outside the pool: a PATCH holds its upload's lock
 * for as long as its body streams, and a pooled connection held that long would starve the pool.
 * If the instance dies its connection closes and PostgreSQL releases every lock it held.
 * Take-over requests travel by NOTIFY on `sb_tus_abort` (payload: `<instance>:<file id>`; an
 * instance ignores its own).
 */
export function openPgUploadLocks(url: string, logger: Logger): UploadLocks {
  const sql = new SQL({ url, max: 1 });
  const me = randomUUID();
  const handlers: ((fileId: string) => void)[] = [];
  let listening: Promise<unknown> | null = null;
  const listen = () => {
    listening ??= sql
      .listen(ABORT_CHANNEL, (payload: string) => {
        const at = payload.indexOf(":");
        if (payload.slice(0, at) === me) return;
        for (const h of handlers) h(payload.slice(at + 1));
      })
      .catch((err: unknown) => {
        listening = null;
        logger.warn("tus: cannot listen for take-over requests", { err: String(err) });
      });
    return listening;
  };
  const tryLock = async (fileId: string) =>
    ((await sql`SELECT pg_try_advisory_lock(${TUS_LOCK_CLASS}, hashtext(${fileId})) AS ok`)[0] as { ok: boolean }).ok;
  return {
    async acquire(fileId, opts) {
      const deadline = Date.now() + opts.waitMs;
      let asked = false;
      for (;;) {
        if (opts.signal.aborted) return null;
        if (await tryLock(fileId)) {
          if (opts.signal.aborted) {
            await unlock(fileId);
            return null;
          }
          return () => unlock(fileId);
        }
        if (!opts.takeOver || Date.now() >= deadline) return null;
        if (!asked) {
          asked = true;
          await sql`SELECT pg_notify(${ABORT_CHANNEL}, ${`${me}:${fileId}`})`;
        }
        await Bun.sleep(POLL_MS);
      }
    },
    onAbortRequest(handler) {
      handlers.push(handler);
      void listen();
    },
    async close() {
      await sql.close();
    },
  };

  async function unlock(fileId: string) {
    await sql`SELECT pg_advisory_unlock(${TUS_LOCK_CLASS}, hashtext(${fileId}))`.catch((err: unknown) =>
      logger.warn("tus: advisory unlock failed", { fileId, err: String(err) }),
    );
  }
}
