import type { Repos } from "../../db/repos";
import type { Clock } from "../shared/clock";
import { SecretBox } from "../shared/secret-box";

const PURPOSE = "webhook-secrets";

interface KeyLike {
  id: string;
  derive(purpose: string): Uint8Array;
}

/**
 * The box for tenants' webhook signing secrets: a sub-key of the master key ring's current key,
 * for this purpose only; older keys of the ring still open what they sealed.
 */
export function webhookSecretBox(ring: {
  current: KeyLike;
  key(id: string): KeyLike | undefined;
  refresh?(force: boolean): Promise<void>;
}): SecretBox {
  return new SecretBox({
    current: () => ({ id: ring.current.id, key: ring.current.derive(PURPOSE) }),
    byId: (id) => ring.key(id)?.derive(PURPOSE),
    refresh: async () => ring.refresh?.(true),
  });
}

/**
 * Seals every webhook secret not sealed under the current master key: plaintext ones from before
 * encryption (a data migration: SQL migrations have no key, so this runs at every start-up once
 * the key is loaded) and ones sealed under a key a rotation replaced (also called by the rotation
 * before it retires the old key). Idempotent; returns how many were (re-)sealed.
 */
export async function resealWebhookSecrets(repos: Repos, box: SecretBox, clock: Clock): Promise<number> {
  const due = await repos.tenants.webhookSecretsNotSealedWith(box.currentPrefix());
  const resealed: { id: string; from: string; to: string }[] = [];
  for (const t of due)
    resealed.push({ id: t.id, from: t.webhookSecret, to: box.seal(await box.open(t.webhookSecret, t.id), t.id) });
  return repos.tx(async () => {
    let n = 0;
    for (const r of resealed) if (await repos.tenants.replaceWebhookSecret(r.id, r.from, r.to, clock.now())) n++;
    return n;
  });
}
