import { hmacHex, safeEqual } from "./secrets";

export type UrlPurpose = "upload" | "download";

/**
 * HMAC-signed URL tokens. A token binds purpose, tenant, file and expiry (epoch ms; 0 = never,
 * for permanent download URLs), so a token for one file or purpose can't be replayed on another.
 * Rotating URL_SIGNING_SECRET (or the master key it derives from) revokes every URL at once.
 */
export class UrlSigner {
  constructor(private readonly secret: string | Uint8Array) {}

  sign(purpose: UrlPurpose, tenantId: string, fileId: string, expires: number): string {
    return hmacHex(this.secret, `${purpose}\n${tenantId}\n${fileId}\n${expires}`);
  }

  /** Constant-time check of token and expiry. */
  verify(opts: {
    purpose: UrlPurpose;
    tenantId: string;
    fileId: string;
    expires: number;
    token: string;
    now: number;
  }): "ok" | "invalid" | "expired" {
    const expected = this.sign(opts.purpose, opts.tenantId, opts.fileId, opts.expires);
    if (!safeEqual(expected, opts.token)) return "invalid";
    if (opts.expires !== 0 && opts.expires <= opts.now) return "expired";
    return "ok";
  }
}
