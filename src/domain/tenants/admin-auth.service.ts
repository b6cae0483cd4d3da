import type { SettingsRepo } from "../../db/repos/settings.repo";
import { ADMIN_KEY_SETTING } from "../../db/repos/settings.repo";
import { AppError, unauthorized } from "../shared/errors";
import { hashKey, safeEqual } from "../shared/secrets";

/**
 * The admin key (ADMIN_API_KEY or the one generated at first start) is kept only as its SHA-256
 * in settings and compared in constant time. A tenant key presented here is just a wrong key.
 */
export function createAdminAuthService(deps: { settings: SettingsRepo }) {
  return {
    /** Returns if `key` is the admin key; throws 401 UNAUTHORIZED otherwise (also when none is set). */
    async verifyAdminKey(key: string | null): Promise<void> {
      if (!key) throw unauthorized("Missing admin key");
      const stored = await deps.settings.get(ADMIN_KEY_SETTING);
      if (!stored) throw new AppError("UNAUTHORIZED", "Admin API is not configured");
      if (!safeEqual(hashKey(key), stored)) throw unauthorized("Invalid admin key");
    },
  };
}
export type AdminAuthService = ReturnType<typeof createAdminAuthService>;
