import { existsSync, statfsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Services } from "../app";
import type { Runtime } from "../runtime";
import { keyFiles } from "../storage/keyring";

/** Orphan objects younger than this may belong to an operation still running: never deleted. */
export const ORPHAN_MIN_AGE_MS = 60 * 60 * 1000;
const MIN_FREE_BYTES = 256 * 1024 * 1024;

type Report = (name: string, pass: boolean, info: string) => void;

/**
 * The operations checks of `doctor` (disk space, master key file, backend reachability, outbox
 * depth, orphans both ways) and, with `fix`, the repairs: orphan objects older than an hour are
 * deleted; completed rows whose object is gone are marked failed (reason object_missing),
 * releasing their bytes, with the usual file.failed webhook. Everything done is printed.
 */
export async function opsChecks(rt: Runtime, services: Services, report: Report, opts: { fix: boolean }) {
  const { config } = rt;
  const local = rt.objects.backend.name === "local";

  try {
    const fs = statfsSync(config.DATA_DIR);
    const free = fs.bavail * fs.bsize;
    const total = fs.blocks * fs.bsize;
    report(
      "disk space",
      free >= Math.min(MIN_FREE_BYTES, total * 0.02),
      `${gib(free)} GiB free of ${gib(total)} GiB (${((free / total) * 100).toFixed(1)}%) at ${config.DATA_DIR}`,
    );
  } catch (err) {
    report("disk space", false, (err as Error).message);
  }

  const files = keyFiles(config.DATA_DIR);
  if (config.MASTER_KEY) report("master key", true, `from MASTER_KEY (id ${rt.masterKey.active.id})`);
  else {
    const mode = statSync(files.primary).mode & 0o777;
    report(
      "master key",
      (mode & 0o077) === 0,
      `${files.primary} mode ${mode.toString(8).padStart(4, "0")}${mode & 0o077 ? " — readable by others: chmod 600 it" : ""} (id ${rt.masterKey.active.id})`,
    );
  }
  if (existsSync(files.next))
    report("master key rotation", true, `under way (master.key.next exists): run admin rotate-master-key to finish it`);

  try {
    const t0 = performance.now();
    await rt.objects.backend.ping();
    report(
      "backend reachable",
      true,
      `${rt.objects.backend.name} answered in ${Math.round(performance.now() - t0)} ms`,
    );
  } catch (err) {
    report("backend reachable", false, `${rt.objects.backend.name}: ${(err as Error).message}`);
  }

  const now = rt.clock.now();
  const q = await rt.repos.ops.webhookQueue(now);
  const lagS = q.oldestDueAt === null ? 0 : Math.round((now - q.oldestDueAt) / 1000);
  report("webhook outbox", lagS < 3600, `${q.pending} waiting, ${q.due} due now, oldest due ${lagS} s ago`);

  // Objects without a live row.
  let orphans = 0;
  let young = 0;
  let deleted = 0;
  let ageUnknown = 0;
  for await (const key of rt.objects.backend.list("t/")) {
    if (await rt.repos.ops.objectIsOwned(key)) continue;
    orphans++;
    const age = local ? now - statSync(join(config.DATA_DIR, "objects", key)).mtimeMs : null;
    if (age === null) ageUnknown++;
    else if (age < ORPHAN_MIN_AGE_MS) young++;
    else if (opts.fix) {
      await rt.objects.backend.delete(key);
      deleted++;
      console.log(`  fixed: deleted orphan object ${key} (${Math.round(age / 60000)} min old)`);
    }
  }
  const left = orphans - deleted;
  report(
    "orphan objects",
    left === young + ageUnknown,
    `${orphans} without a live row` +
      (deleted ? `, ${deleted} deleted` : "") +
      (young ? `, ${young} younger than an hour (left alone)` : "") +
      (ageUnknown ? `, ${ageUnknown} of unknown age on ${rt.objects.backend.name} (left alone: delete by hand)` : "") +
      (left > young + ageUnknown ? ` — run doctor --fix to delete those older than an hour` : ""),
  );

  // Completed rows without an object.
  let missing = 0;
  let marked = 0;
  let after = "";
  for (;;) {
    const page = await rt.repos.ops.completedFiles(after, 500);
    if (page.length === 0) break;
    after = page[page.length - 1]?.id ?? after;
    for (const f of page) {
      if (await objectExists(rt, f.key)) continue;
      missing++;
      if (!opts.fix) continue;
      const done = await rt.repos.tx(async () => {
        if (!(await rt.repos.ops.markObjectMissing(f.id, f.charged, rt.clock.now()))) return false;
        await rt.repos.quota.adjust(f, 0, -f.charged);
        const row = await rt.repos.files.byId(f.id);
        if (row) await services.onFileSettled(row);
        return true;
      });
      if (done) {
        marked++;
        console.log(`  fixed: file ${f.id} marked failed (object missing), ${f.charged} bytes released`);
      }
    }
  }
  report(
    "files without object",
    missing === marked,
    `${missing} completed file(s) whose object is gone` +
      (marked ? `, ${marked} marked failed and their bytes released` : missing ? " — run doctor --fix" : ""),
  );
  if (opts.fix && (deleted || marked))
    await services.audit.record({
      actor: { type: "cli" },
      action: "doctor.fix",
      details: { orphanObjectsDeleted: deleted, filesMarkedFailed: marked },
    });
}

async function objectExists(rt: Runtime, key: string): Promise<boolean> {
  if (rt.objects.backend.name === "local") return existsSync(join(rt.config.DATA_DIR, "objects", key));
  const s = await rt.objects.backend.get(key, { range: { start: 0, end: 0 } });
  if (!s) return false;
  await s.cancel().catch(() => {});
  return true;
}

const gib = (b: number) => (b / 1024 ** 3).toFixed(1);
