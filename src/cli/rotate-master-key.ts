import type { AuditService } from "../domain/audit/audit.service";
import { ROTATION_STATE, writeMasterKeyCanary } from "../domain/ops/deployment-secrets";
import { AppError } from "../domain/shared/errors";
import { resealWebhookSecrets, webhookSecretBox } from "../domain/tenants/webhook-secrets";
import type { Runtime } from "../runtime";
import { createProgress } from "./progress";

const STATE_KEY = ROTATION_STATE;
/** Servers notice a new master.key.next within ~1 s; uploads started before that may still use the old key. */
const NOTICE_MS = 2000;

export interface RotateOptions {
  /** Rows re-wrapped per transaction. */
  batchSize: number;
  /** Pause between batches, to go easy on a busy server. */
  pauseMs: number;
  /** Give up waiting for uploads started before the rotation after this long (run again later). */
  maxWaitMs?: number;
  out?: (line: string) => void;
}

/**
 * `admin rotate-master-key`: re-wraps every file's data key under a new master key without
 * touching object bytes (docs/architecture.md, "Master key and its rotation").
 *
 * Resumable: the new key is written to master.key.next before anything else and every row
 * records the id of the key that wraps it, so a rerun after a crash (or kill -9) continues with
 * the same new key and skips rows already done. Until it finishes, every process loads both keys.
 * Returns false (exit 1) if some rows could not be re-wrapped or in-flight uploads didn't finish.
 */
export async function rotateMasterKey(rt: Runtime, audit: AuditService, opts: RotateOptions): Promise<boolean> {
  const out = opts.out ?? ((l: string) => console.log(l));
  const ring = rt.masterKey;
  // Through the environment (MASTER_KEY = new key, MASTER_KEY_PREVIOUS = old, on every instance):
  // re-wrap onto MASTER_KEY, no key files. Else the new key is a file in this data dir, which the
  // other instances of a PostgreSQL deployment don't share: they could not read what it wraps.
  const viaEnv = ring.previousFromEnv;
  if (!viaEnv && rt.conn.dialect === "pg")
    throw new AppError(
      "VALIDATION_ERROR",
      "admin rotate-master-key would keep the new key in this machine's data dir (master.key.next), which the " +
        "other instances sharing the PostgreSQL database don't have. Rotate through the environment instead: set " +
        "MASTER_KEY to the new key and MASTER_KEY_PREVIOUS to the old one on every instance, restart them, then " +
        'run this command with the same two variables (docs/operations.md, "Master key rotation").',
    );
  if (viaEnv && ring.pending)
    throw new AppError(
      "VALIDATION_ERROR",
      "a rotation through master.key.next is under way: finish it (without MASTER_KEY_PREVIOUS) first",
    );
  const state = JSON.parse((await rt.repos.settings.get(STATE_KEY)) ?? "null") as { startedAt: number } | null;
  const resumed = viaEnv ? state !== null : ring.pending !== null;
  const from = viaEnv ?? ring.active;
  const to = viaEnv ? ring.active : await ring.beginRotation();
  const startedAt = state?.startedAt ?? rt.clock.now();
  if (!state) {
    await rt.repos.settings.set(STATE_KEY, JSON.stringify({ from: from.id, to: to.id, startedAt }));
    await audit.record({
      actor: { type: "cli" },
      action: "master-key.rotate.start",
      details: { from: from.id, to: to.id },
    });
  }
  out(
    `${resumed ? "Resuming" : "Starting"} master key rotation ${from.id} -> ${to.id}` +
      (viaEnv
        ? " (MASTER_KEY is the new key, MASTER_KEY_PREVIOUS the old; both are accepted meanwhile)"
        : " (new key in master.key.next until it finishes; both keys are accepted meanwhile)"),
  );
  if (!rt.config.URL_SIGNING_SECRET)
    out(
      "note: URL_SIGNING_SECRET is not set, so signed URLs derive from the master key: URLs issued before the rotation stop working once it has finished and the server restarts. Set URL_SIGNING_SECRET to keep them.",
    );

  const failed = new Set<string>();
  const rewrapRows = async (rows: { id: string; wrapped: string; keyId: string }[]) => {
    const updates: { id: string; fromKeyId: string; wrapped: string; keyId: string }[] = [];
    for (const r of rows) {
      const owner = ring.key(r.keyId);
      try {
        if (!owner) throw new Error(`master key ${r.keyId} is not loaded`);
        updates.push({
          id: r.id,
          fromKeyId: r.keyId,
          wrapped: await owner.rewrap(r.wrapped, r.keyId, to),
          keyId: to.id,
        });
      } catch (err) {
        if (!failed.has(r.id)) out(`cannot re-wrap file ${r.id}: ${(err as Error).message}`);
        failed.add(r.id);
      }
    }
    return updates;
  };
  // Unfinished resumable uploads carry their own wrapped data key until they complete.
  const tusPass = async () => {
    let after = "";
    for (;;) {
      const rows = await rt.repos.ops.tusUploadsToRewrap(to.id, after, opts.batchSize);
      if (rows.length === 0) return;
      after = rows[rows.length - 1]?.id ?? after;
      const updates = await rewrapRows(rows);
      await rt.repos.tx(() => rt.repos.ops.setTusWrappedKeys(updates));
    }
  };
  const pass = async () => {
    await tusPass();
    const total = await rt.repos.ops.countToRewrap(to.id);
    const progress = createProgress({ label: "re-wrapped", totalItems: total, write: (s) => out(s.trimEnd()) });
    let after = "";
    for (;;) {
      const rows = await rt.repos.ops.filesToRewrap(to.id, after, opts.batchSize);
      if (rows.length === 0) break;
      after = rows[rows.length - 1]?.id ?? after;
      const updates = await rewrapRows(rows);
      await rt.repos.tx(() => rt.repos.ops.setWrappedKeys(updates));
      progress.add(rows.length);
      if (opts.pauseMs > 0) await Bun.sleep(opts.pauseMs);
    }
    return progress.done().items;
  };

  await pass();
  // Uploads that began before every server switched to the new key settle with the old one.
  const deadline = Date.now() + (opts.maxWaitMs ?? 10 * 60_000);
  for (let n = await rt.repos.ops.uploadsInFlightSince(startedAt + NOTICE_MS); n > 0; ) {
    if (Date.now() > deadline) {
      out(`${n} upload(s) begun before the rotation are still in progress; run the command again later to finish.`);
      return false;
    }
    out(`waiting for ${n} upload(s) begun before the rotation to finish...`);
    await Bun.sleep(1000);
    n = await rt.repos.ops.uploadsInFlightSince(startedAt + NOTICE_MS);
  }
  await pass();
  const left = await rt.repos.ops.countToRewrap(to.id);
  if (left > 0 || failed.size > 0) {
    out(`${left} file(s) are still wrapped by another key; the rotation is not finished (both keys stay loaded).`);
    return false;
  }

  // Webhook secrets are sealed under a sub-key of the master key: re-seal them under the new one
  // before the old key is retired.
  await resealWebhookSecrets(rt.repos, webhookSecretBox(ring), rt.clock);
  const { retiredPath, newKeyPath } = viaEnv ? { retiredPath: null, newKeyPath: null } : await ring.finishRotation();
  await writeMasterKeyCanary(rt.repos, to);
  await rt.repos.settings.set(STATE_KEY, "null");
  await audit.record({
    actor: { type: "cli" },
    action: "master-key.rotate.finish",
    details: { from: from.id, to: to.id },
  });
  const line = "=".repeat(72);
  if (retiredPath) {
    out(
      `${line}\n  Master key rotated: every file is now wrapped by ${to.id} (${newKeyPath}).\n` +
        `  The old key was kept as ${retiredPath}.\n` +
        `  Store it offline if you may restore a backup taken before now, then delete it here.\n` +
        `  Back up the new master.key now: backups taken from now on need it.\n${line}`,
    );
  } else if (viaEnv) {
    out(
      `${line}\n  Every file is now wrapped by ${to.id} (MASTER_KEY).\n` +
        `  Remove MASTER_KEY_PREVIOUS from every instance and restart them; keep the old key offline\n` +
        `  if you may restore a backup taken before now.\n${line}`,
    );
  } else {
    out(
      `${line}\n  Every file is now wrapped by ${to.id}, whose key is in ${newKeyPath}.\n` +
        `  MASTER_KEY is set in the environment: set MASTER_KEY to the contents of that file,\n` +
        `  restart, then delete the file. Until then both keys stay loaded.\n${line}`,
    );
  }
  return true;
}
