import { createHmac } from "node:crypto";
import type { Repos } from "../../db/repos";
import type { MasterKey } from "../../storage/crypto";

/** Settings key of the master key canary: a data key wrapped by the deployment's master key. */
export const MASTER_KEY_CANARY = "master_key_canary";
/** Settings key of the keyed hash of the URL signing secret (PostgreSQL deployments only). */
export const URL_SIGNING_CHECK = "url_signing_secret_check";

/** A secret this process was given does not match the one the database was written with; start-up stops. */
export class DeploymentSecretsError extends Error {}

/** What the check needs of the master keyring (storage/keyring.ts). */
export interface KeyringView {
  current: MasterKey;
  active: MasterKey;
  knownIds(): string[];
  key(id: string): MasterKey | undefined;
}

/**
 * Start-up check that this process holds the secrets the rest of the deployment uses
 * (docs/operations.md, "State shared by all instances"). Every instance sharing a database must
 * have the same master key (or it cannot read the files the others wrote) and, on PostgreSQL, the
 * same URL signing secret (or it rejects the signed URLs the others issue).
 *
 * Master key: on first start a canary (a random data key wrapped by the current key) goes into
 * `settings`, after checking that no live file row or unfinished upload names a key id the
 * keyring doesn't know; later starts must unwrap the canary with a key they hold, and hold both
 * keys of a rotation under way. The canary follows the current key (a
 * rotation moves it at the next start), so only a key that was never this deployment's fails.
 * Works alike on SQLite, where it catches a database restored beside the wrong master.key.
 *
 * URL signing (PostgreSQL only; one SQLite process has no one to disagree with): `settings` holds
 * an HMAC keyed by the secret in use, tagged `set:` (URL_SIGNING_SECRET) or `derived:` (from the
 * master key). A start whose secret differs is refused, except a hand-over the operator asked for:
 * the stored one is URL_SIGNING_SECRET_PREVIOUS, or derived from another key of the ring (a
 * master key rotation), or was derived and a secret is now set. Those record the new hash.
 */
export async function checkDeploymentSecrets(deps: {
  repos: Repos;
  ring: KeyringView;
  /** URL_SIGNING_SECRET, or undefined when it derives from the master key. */
  signingSecret: string | undefined;
  previousSigningSecret: string | undefined;
}): Promise<{ canaryWritten: boolean; signingCheckUpdated: boolean }> {
  const { repos, ring } = deps;
  const canaryWritten = await checkMasterKey(repos, ring);
  const signingCheckUpdated =
    repos.dialect === "pg"
      ? await checkSigningSecret(repos, ring, deps.signingSecret, deps.previousSigningSecret)
      : false;
  return { canaryWritten, signingCheckUpdated };
}

const masterKeyMismatch = (what: string, ring: KeyringView) =>
  new DeploymentSecretsError(
    `MASTER_KEY does not match this database: ${what}, and this instance holds only ${ring.knownIds().join(", ")}. ` +
      "Every instance sharing a database must use the same MASTER_KEY (on a single machine, the master.key the " +
      "database was written with, and any master.key.retired-* files a rotation left). Refusing to start.",
  );

/** Records a canary wrapped by `key` (the rotation calls it when `key` becomes the active one). */
export async function writeMasterKeyCanary(repos: Repos, key: MasterKey): Promise<void> {
  await repos.settings.set(MASTER_KEY_CANARY, await canaryOf(key));
}

const canaryOf = async (key: MasterKey) => {
  const { keyId, wrapped } = await key.newDataKey();
  return JSON.stringify({ keyId, wrapped });
};

async function checkMasterKey(repos: Repos, ring: KeyringView): Promise<boolean> {
  const mine = await canaryOf(ring.current);
  const stored = await repos.settings.setIfAbsent(MASTER_KEY_CANARY, mine);
  const canary = JSON.parse(stored) as { keyId: string; wrapped: string };
  const owner = ring.key(canary.keyId);
  if (!owner) throw masterKeyMismatch(`its keys are wrapped by master key ${canary.keyId}`, ring);
  try {
    await owner.unwrap(canary.wrapped, canary.keyId);
  } catch {
    throw masterKeyMismatch(`the key canary (master key ${canary.keyId}) does not unwrap`, ring);
  }
  // The first start with a canary (a fresh database, or one from before the check): the rows
  // themselves are checked, a scan stopping at the first unknown key id (no index on key_id: about
  // 0.5–1.4 s per million files here, too slow for every start). Later, rows are wrapped by the
  // canary's key or, while a rotation runs, by one of its two keys.
  const unknown =
    stored === mine
      ? await repos.ops.unknownKeyId(ring.knownIds())
      : rotationKeys(await repos.settings.get(ROTATION_STATE)).find((id) => !ring.key(id));
  if (unknown) throw masterKeyMismatch(`stored files are wrapped by master key ${unknown}`, ring);
  if (stored === mine) return true;
  // A rotation moved the current key: the canary follows, so the old key can be retired.
  if (canary.keyId !== ring.current.id) await repos.settings.set(MASTER_KEY_CANARY, mine);
  return false;
}

/** Settings key of an unfinished master key rotation (cli/rotate-master-key.ts): `{from, to, startedAt}` or null. */
export const ROTATION_STATE = "master_key_rotation";

function rotationKeys(state: string | null): string[] {
  const s = JSON.parse(state ?? "null") as { from?: string; to?: string } | null;
  return [s?.from, s?.to].filter((id): id is string => typeof id === "string");
}

/** HMAC of a fixed label keyed by the secret: equal secrets give equal values, and it reveals nothing. */
const signingCheck = (secret: string | Uint8Array) =>
  createHmac("sha256", secret).update("storage-brain url signing secret check").digest("hex");

async function checkSigningSecret(
  repos: Repos,
  ring: KeyringView,
  secret: string | undefined,
  previous: string | undefined,
): Promise<boolean> {
  const mine = secret ? `set:${signingCheck(secret)}` : `derived:${signingCheck(ring.active.derive("url-signing"))}`;
  const stored = await repos.settings.setIfAbsent(URL_SIGNING_CHECK, mine);
  if (stored === mine) return false;
  const handOver =
    (previous !== undefined && stored === `set:${signingCheck(previous)}`) ||
    (secret !== undefined && stored.startsWith("derived:")) ||
    (secret === undefined &&
      ring.knownIds().some((id) => stored === `derived:${signingCheck(ring.key(id)!.derive("url-signing"))}`));
  if (!handOver)
    throw new DeploymentSecretsError(
      `URL_SIGNING_SECRET does not match the one this deployment's other instances use${
        secret ? "" : " (it is unset here, so it derives from the master key)"
      }: signed URLs issued by one instance would be refused by another. Set the same URL_SIGNING_SECRET on ` +
        "every instance; to change it, set the new value as URL_SIGNING_SECRET and the old one as " +
        "URL_SIGNING_SECRET_PREVIOUS. Refusing to start.",
    );
  await repos.settings.set(URL_SIGNING_CHECK, mine);
  return true;
}
