import { hmacHex, safeEqual } from "./secrets";

export type UrlPurpose = "upload" | "download";

/**
 * HMAC-signed URL tokens. A token binds purpose, tenant, file and expiry (epoch ms; 0 = never,
 * for permanent download URLs), so a token for one file or purpose can't be replayed on another.
 * Rotating URL_SIGNING_SECRET (or the master key it derives from) revokes every URL at once,
 * unless the replaced secret is kept in `previous` (URL_SIGNING_SECRET_PREVIOUS) for a grace
 * period: it still verifies URLs signed before the rotation, but never signs new ones. The grace
 * period ends when the operator removes it (or signed URLs issued with it expire).
 */
export class UrlSigner {
  constructor(
    private readonly secret: string | Uint8Array,
    private readonly previous: readonly (string | Uint8Array)[] = [],
  ) {}

  sign(purpose: UrlPurpose, tenantId: string, fileId: string, expires: number): string {
    return UrlSigner.hmac(this.secret, purpose, tenantId, fileId, expires);
  }

  private static hmac(
    secret: string | Uint8Array,
    purpose: UrlPurpose,
    tenantId: string,
    fileId: string,
    expires: number,
  ) {
    return hmacHex(secret, `${purpose}\n${tenantId}\n${fileId}\n${expires}`);
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
    const matches = (secret: string | Uint8Array) =>
      safeEqual(UrlSigner.hmac(secret, opts.purpose, opts.tenantId, opts.fileId, opts.expires), opts.token);
    if (!matches(this.secret) && !this.previous.some(matches)) return "invalid";
    if (opts.expires !== 0 && opts.expires <= opts.now) return "expired";
    return "ok";
  }
}
