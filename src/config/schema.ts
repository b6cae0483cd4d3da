import { z } from "zod";

/**
 * The whole runtime configuration, one zod schema. Every name in the README's configuration
 * table is read here, even where a later feature is the one to use it.
 * Values arrive as strings (env) or typed values (config file); both are coerced.
 */
const bool = z.union([z.boolean(), z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1")]);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalString = z.string().trim().min(1).optional();

const isSqliteUrl = (url: string) => url.startsWith("file:") || url === ":memory:";
/** DATABASE_URL naming PostgreSQL (several instances may share it). */
export const isPostgresUrl = (url: string) => /^postgres(ql)?:\/\//.test(url);

export const configSchema = z
  .object({
    PORT: int(0, 65535).default(3000),
    HOST: z.string().min(1).default("0.0.0.0"),
    DATA_DIR: z.string().min(1).default("./data"),
    DATABASE_URL: optionalString,
    STORAGE_BACKEND: z.enum(["local", "s3"]).default("local"),
    S3_BUCKET: optionalString,
    S3_REGION: z.string().min(1).default("us-east-1"),
    S3_ENDPOINT: z.url().optional(),
    S3_FORCE_PATH_STYLE: bool.default(false),
    S3_KEY_PREFIX: z.string().default(""),
    AWS_ACCESS_KEY_ID: optionalString,
    AWS_SECRET_ACCESS_KEY: optionalString,
    ADMIN_API_KEY: z.string().min(16, "must be at least 16 characters").optional(),
    MASTER_KEY: z
      .string()
      .refine((v) => Buffer.from(v, "base64").length === 32, "must be base64 of exactly 32 bytes")
      .optional(),
    /**
     * The replaced master key while a rotation done through the environment runs (MASTER_KEY
     * holds the new one): loaded for unwrapping only. The way to rotate a scaled-out deployment.
     */
    MASTER_KEY_PREVIOUS: z
      .string()
      .refine((v) => Buffer.from(v, "base64").length === 32, "must be base64 of exactly 32 bytes")
      .optional(),
    URL_SIGNING_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
    /** The replaced signing secret, accepted for verification only while URLs signed with it expire. */
    URL_SIGNING_SECRET_PREVIOUS: z.string().min(16, "must be at least 16 characters").optional(),
    /** Bearer token for GET /metrics besides the admin key (for a Prometheus scraper). */
    METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
    PUBLIC_URL: z.url().optional(),
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool.default(false),
    WEBHOOK_MAX_ATTEMPTS: int(1, 100).default(3),
    WEBHOOK_BACKOFF_MS: int(0, 86_400_000).default(1000),
    WEBHOOK_TIMEOUT_MS: int(1, 600_000).default(10_000),
    UPLOAD_EXPIRY_SECONDS: int(1, 7 * 86_400).default(900),
    UPLOAD_IDLE_TIMEOUT_MS: int(100, 3_600_000).default(60_000),
    /** Largest tus upload (Upload-Length); the two-step upload keeps its 100 MiB. S3 allows 5 TiB. */
    TUS_MAX_SIZE: int(1, 5 * 1024 ** 4).default(5 * 1024 ** 3),
    /** How long a tus upload may take from creation to its last byte (Upload-Expires). */
    TUS_EXPIRY_SECONDS: int(60, 30 * 86_400).default(86_400),
    DELETED_RETENTION_SECONDS: int(0, 10 * 365 * 86_400).default(604_800),
    // How often the expiry and purge jobs wake (each run drains everything due, see src/jobs).
    UPLOAD_EXPIRY_INTERVAL_SECONDS: int(1, 86_400).default(30),
    PURGE_INTERVAL_SECONDS: int(1, 86_400).default(600),
    // Rate limits (docs/security.md): per API key off by default; failed authentications per
    // client address on, generously; concurrent uploads per tenant capped.
    RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).max(1_000_000).default(0),
    RATE_LIMIT_BURST: int(0, 1_000_000).default(0),
    AUTH_FAILURE_LIMIT_PER_MINUTE: int(0, 1_000_000).default(600),
    AUTH_FAILURE_BURST: int(1, 1_000_000).default(300),
    TRUST_PROXY: bool.default(false),
    MAX_CONCURRENT_UPLOADS_PER_TENANT: int(0, 100_000).default(100),
    CORS_ORIGINS: z.string().default("*"),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  })
  .superRefine((c, ctx) => {
    if (c.STORAGE_BACKEND === "s3" && !c.S3_BUCKET) {
      ctx.addIssue({ code: "custom", path: ["S3_BUCKET"], message: "is required when STORAGE_BACKEND=s3" });
    }
    if (c.MASTER_KEY_PREVIOUS && !c.MASTER_KEY) {
      ctx.addIssue({
        code: "custom",
        path: ["MASTER_KEY_PREVIOUS"],
        message: "needs MASTER_KEY (the new key) set too",
      });
    }
    if (c.DATABASE_URL && !isSqliteUrl(c.DATABASE_URL) && !isPostgresUrl(c.DATABASE_URL)) {
      ctx.addIssue({
        code: "custom",
        path: ["DATABASE_URL"],
        message: "must be a file: URL (SQLite) or a postgres:// / postgresql:// URL (PostgreSQL)",
      });
    }
  });

export type RawConfig = z.infer<typeof configSchema>;

/** Config after defaults that depend on other settings are filled in. */
export type Config = Readonly<
  RawConfig & {
    /** Path of the SQLite file, or ":memory:" (unused when `postgresUrl` is set). */
    databasePath: string;
    /** The PostgreSQL URL when DATABASE_URL names one (metadata in PostgreSQL), else null (SQLite). */
    postgresUrl: string | null;
    publicUrl: string;
    corsOrigins: readonly string[];
  }
>;

export const CONFIG_KEYS = Object.keys(configSchema.shape) as (keyof RawConfig)[];
