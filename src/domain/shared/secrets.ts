import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * API keys and signatures. Keys are `sk_live_` + 32 random bytes in base64url; only their
 * SHA-256 is stored. Lookups go by hash (indexed) and the final comparison is constant-time.
 */
export const TENANT_KEY_PREFIX = "sk_live_";
export const ADMIN_KEY_PREFIX = "sk_admin_";

export function generateApiKey(prefix = TENANT_KEY_PREFIX): string {
  return prefix + randomBytes(32).toString("base64url");
}

export function hashKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** Short, non-secret display form: the key's prefix plus the first 4 random characters. */
export function displayPrefix(key: string, prefix = TENANT_KEY_PREFIX): string {
  const at = key.startsWith(prefix) ? prefix.length : 0;
  return key.slice(0, at + 4);
}

/**
 * Constant-time equality of two secrets (tokens, HMACs, key hashes). Both sides are hashed first,
 * so the comparison is always of 32 bytes: neither the content nor the length of the expected
 * value leaks through timing (an early return on unequal lengths would tell the length).
 */
export function safeEqual(a: string, b: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(a), digest(b));
}

export function hmacHex(secret: string | Uint8Array, data: string): string {
  return createHmac("sha256", secret).update(data).digest("hex");
}

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}
