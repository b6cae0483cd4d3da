/**
 * Example configuration for Storage Brain. Every setting here is optional; values in this
 * file override the built-in defaults, and environment variables override this file.
 * Names and meanings are those of CONTRACT.md's configuration table (see README.md).
 *
 * This example sets nothing unusual: it spells out the defaults so you can see what exists.
 */
export default {
  PORT: 3000,
  HOST: "0.0.0.0",
  DATA_DIR: "./data",
  STORAGE_BACKEND: "local",
  UPLOAD_EXPIRY_SECONDS: 900,
  DELETED_RETENTION_SECONDS: 604800,
  LOG_LEVEL: "info",
  // For MinIO / S3 (see README "Use MinIO / S3"):
  // STORAGE_BACKEND: "s3", S3_BUCKET: "storage-brain", S3_ENDPOINT: "http://127.0.0.1:9000", S3_FORCE_PATH_STYLE: true,
};
