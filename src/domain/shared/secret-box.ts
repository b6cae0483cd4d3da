import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/** The keys a SecretBox seals and opens with, by id (the master key ring, seen through one purpose). */
export interface SecretKeys {
  /** The key new values are sealed with. */
  current(): { id: string; key: Uint8Array };
  /** A key by id, if loaded. */
  byId(id: string): Uint8Array | undefined;
  /** Loads keys another process may have added (a master key rotation); called on an unknown id. */
  refresh?(): Promise<void>;
}

/**
 * Encrypts small secrets the service must read back (webhook signing secrets) before they are
 * stored: AES-256-GCM under a key derived from the master key, so a copy of the database alone
 * reveals nothing. The row's id is bound in as associated data, so a sealed value moved to
 * another row does not open.
 *
 * Stored form: `enc1:<key id>:` + base64url(iv ‖ ciphertext ‖ tag). The key id names the master
 * key it was sealed under, so values stay readable across a master key rotation (the old key
 * stays loaded until they are re-sealed). A value without the prefix is a plaintext secret from
 * before encryption: `open` returns it unchanged, and the start-up step seals it.
 */
export class SecretBox {
  static readonly PREFIX = "enc1:";

  constructor(private readonly keys: SecretKeys) {}

  /** The prefix of values sealed under the current key (anything else is due for re-sealing). */
  currentPrefix(): string {
    return `${SecretBox.PREFIX}${this.keys.current().id}:`;
  }

  seal(plaintext: string, boundTo: string): string {
    const { id, key } = this.keys.current();
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(Buffer.from(boundTo, "utf8"));
    const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return `${SecretBox.PREFIX}${id}:${Buffer.concat([iv, ct, cipher.getAuthTag()]).toString("base64url")}`;
  }

  /** The plaintext; throws if the value was tampered with, or sealed for another row or under an unknown key. */
  async open(stored: string, boundTo: string): Promise<string> {
    if (!stored.startsWith(SecretBox.PREFIX)) return stored;
    const [id = "", body = ""] = stored.slice(SecretBox.PREFIX.length).split(":");
    let key = this.keys.byId(id);
    if (!key && this.keys.refresh) {
      await this.keys.refresh();
      key = this.keys.byId(id);
    }
    if (!key) throw new Error(`secret sealed under master key ${id}, which is not loaded`);
    const buf = Buffer.from(body, "base64url");
    const decipher = createDecipheriv("aes-256-gcm", key, buf.subarray(0, 12));
    decipher.setAAD(Buffer.from(boundTo, "utf8"));
    decipher.setAuthTag(buf.subarray(buf.length - 16));
    return Buffer.concat([decipher.update(buf.subarray(12, buf.length - 16)), decipher.final()]).toString("utf8");
  }
}
