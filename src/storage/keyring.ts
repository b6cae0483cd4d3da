import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { DecryptionError, MasterKey } from "./crypto";

/**
 * The master keys a process knows, and which one wraps new data keys.
 *
 * Files in the data dir (docs/architecture.md, "Master key and its rotation"):
 *   master.key                 the active key (unless MASTER_KEY is set, which takes its place)
 *   master.key.next            exists only while a rotation runs: the new key. It wraps every
 *                              new data key from the moment it appears, so the set of files
 *                              left to re-wrap only shrinks.
 *   master.key.retired-<id>    the replaced key after a rotation finished; loaded for unwrapping
 *                              only (a straggler settled with it stays readable, and the next
 *                              rotation re-wraps it). Needed to restore a backup taken before
 *                              the rotation; delete it once neither applies.
 *
 * Every key ever loaded stays in memory for unwrapping (by the key id each file row records), so
 * reads work with both keys throughout a rotation. A serving process notices a rotation started
 * or finished by another process (the CLI) by re-checking the files at most once a second when
 * it wraps a key, and at once when it meets a key id it doesn't know.
 */
export class MasterKeyring {
  private readonly keys = new Map<string, MasterKey>();
  private checkedAt = 0;
  private signature = "";
  /** MASTER_KEY_PREVIOUS: a rotation through the environment is under way. */
  private previousEnv: MasterKey | null = null;

  private constructor(
    private readonly dataDir: string,
    private readonly envKey: string | undefined,
    private primary: MasterKey,
    private next: MasterKey | null,
  ) {
    this.remember(primary);
    if (next) this.remember(next);
  }

  /**
   * Reads MASTER_KEY or `master.key` (generating it, 0600, on first run) plus `master.key.next`,
   * and MASTER_KEY_PREVIOUS (`previousEnvKey`, unwrap only) when set.
   */
  static async open(dataDir: string, envKey?: string, previousEnvKey?: string): Promise<MasterKeyring> {
    const files = keyFiles(dataDir);
    if (!envKey && !existsSync(files.primary)) {
      mkdirSync(dataDir, { recursive: true });
      if (existsSync(files.next))
        throw new Error(`${files.next} exists but ${files.primary} does not: restore master.key before starting`);
      writeKeyFile(files.primary, randomBytes(32));
    }
    const primary = envKey ? await MasterKey.fromRaw(Buffer.from(envKey, "base64")) : await readKey(files.primary);
    const next = existsSync(files.next) ? await readKey(files.next) : null;
    const ring = new MasterKeyring(dataDir, envKey, primary, next?.id === primary.id ? null : next);
    if (previousEnvKey) {
      ring.previousEnv = await MasterKey.fromRaw(Buffer.from(previousEnvKey, "base64"));
      ring.remember(ring.previousEnv);
    }
    await ring.loadRetired();
    ring.signature = ring.fileSignature();
    ring.checkedAt = Date.now();
    return ring;
  }

  /** The key that wraps new data keys: the rotation's new key while one runs, else the active one. */
  get current(): MasterKey {
    return this.next ?? this.primary;
  }
  get id(): string {
    return this.current.id;
  }
  /** The active key (master.key or MASTER_KEY); URL signing derives from it when no secret is set. */
  get active(): MasterKey {
    return this.primary;
  }
  /** The rotation's new key, if a rotation is under way. */
  get pending(): MasterKey | null {
    return this.next;
  }
  /** The key MASTER_KEY_PREVIOUS holds, if set (unwrap only; a rotation through the environment). */
  get previousFromEnv(): MasterKey | null {
    return this.previousEnv;
  }
  get usesEnvKey(): boolean {
    return this.envKey !== undefined;
  }

  /** Ids of every key loaded (active, rotation's new key, retired ones). */
  knownIds(): string[] {
    return [...this.keys.keys()];
  }

  key(id: string): MasterKey | undefined {
    return this.keys.get(id);
  }

  /** A sub-key for another purpose (URL signing), derived from the active key. */
  derive(purpose: string): Buffer {
    return this.primary.derive(purpose);
  }

  async newDataKey(): Promise<{ key: CryptoKey; wrapped: string; keyId: string }> {
    await this.refresh();
    return this.current.newDataKey();
  }

  async unwrap(wrapped: string, keyId: string): Promise<CryptoKey> {
    let k = this.keys.get(keyId);
    if (!k) {
      await this.refresh(true);
      k = this.keys.get(keyId);
    }
    if (!k) throw new DecryptionError(`object key was wrapped by master key ${keyId}, which is not loaded`);
    return k.unwrap(wrapped, keyId);
  }

  /** Re-reads the key files if they changed (at most once a second unless forced). */
  async refresh(force = false): Promise<void> {
    const now = Date.now();
    if (!force && now - this.checkedAt < 1000) return;
    this.checkedAt = now;
    const sig = this.fileSignature();
    if (sig === this.signature) return;
    const files = keyFiles(this.dataDir);
    if (!this.envKey && existsSync(files.primary)) this.primary = await readKey(files.primary);
    this.next = existsSync(files.next) ? await readKey(files.next) : null;
    if (this.next?.id === this.primary.id) this.next = null;
    this.remember(this.primary);
    if (this.next) this.remember(this.next);
    await this.loadRetired();
    this.signature = sig;
  }

  /** Starts a rotation: writes `master.key.next` (0600) unless one is already under way. */
  async beginRotation(): Promise<MasterKey> {
    await this.refresh(true);
    if (this.next) return this.next;
    const { next } = keyFiles(this.dataDir);
    // Left over from a finished rotation under MASTER_KEY (it holds the key now in use): replace it.
    if (existsSync(next) && (await readKey(next)).id === this.primary.id) rmSync(next);
    writeKeyFile(next, randomBytes(32));
    await this.refresh(true);
    if (!this.next) throw new Error("master.key.next could not be read back");
    return this.next;
  }

  /**
   * Ends a rotation once nothing is wrapped by the old key any more: the old `master.key` is kept
   * as `master.key.retired-<id>` and `master.key.next` becomes `master.key` (a rename, atomic).
   * With MASTER_KEY set there is no file to replace: the caller tells the operator to set
   * MASTER_KEY to the new key; until then `master.key.next` stays and keeps being loaded.
   */
  async finishRotation(): Promise<{ retiredPath: string | null; newKeyPath: string }> {
    const files = keyFiles(this.dataDir);
    const old = this.primary;
    if (!this.next) throw new Error("no rotation under way");
    if (this.envKey) return { retiredPath: null, newKeyPath: files.next };
    const retiredPath = join(this.dataDir, `master.key.retired-${old.id}`);
    if (!existsSync(retiredPath)) writeKeyFile(retiredPath, readRaw(files.primary));
    renameSync(files.next, files.primary);
    await this.refresh(true);
    return { retiredPath, newKeyPath: files.primary };
  }

  private async loadRetired() {
    let names: string[] = [];
    try {
      names = readdirSync(this.dataDir).filter((n) => n.startsWith("master.key.retired-"));
    } catch {
      return;
    }
    for (const n of names) {
      if (this.keys.has(n.slice("master.key.retired-".length))) continue;
      try {
        this.remember(await readKey(join(this.dataDir, n)));
      } catch {
        // an unreadable retired key only matters to rows that still use it; they fail with its id
      }
    }
  }

  private remember(k: MasterKey) {
    if (!this.keys.has(k.id)) this.keys.set(k.id, k);
  }

  private fileSignature(): string {
    const files = keyFiles(this.dataDir);
    const sig = (p: string) => {
      try {
        const s = statSync(p);
        return `${s.ino}:${s.mtimeMs}:${s.size}`;
      } catch {
        return "-";
      }
    };
    return `${sig(files.primary)}|${sig(files.next)}`;
  }
}

export function keyFiles(dataDir: string) {
  return { primary: join(dataDir, "master.key"), next: join(dataDir, "master.key.next") };
}

function readRaw(path: string): Buffer {
  const raw = Buffer.from(readFileSync(path, "utf8").trim(), "base64");
  if (raw.length !== 32) throw new Error(`${path} does not hold base64 of 32 bytes`);
  return raw;
}

async function readKey(path: string): Promise<MasterKey> {
  return MasterKey.fromRaw(readRaw(path));
}

/** Writes a new key file, never over an existing one, readable by the owner only. */
function writeKeyFile(path: string, raw: Uint8Array) {
  writeFileSync(path, `${Buffer.from(raw).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
}
