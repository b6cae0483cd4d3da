import type { FileCategory } from "../../db/schema";
import { MAX_FILE_SIZE_BYTES } from "../files/file-types";

/**
 * The Storage API module's file categories, each with its own allowed types and size limit.
 * `general` takes the tenant's allowed types (null here); the others carry their own lists, so a
 * CSV data source is accepted even for a tenant whose general types are images only.
 */
export interface CategoryRule {
  allowedTypes: readonly string[] | null;
  maxSizeBytes: number;
}

export const CATEGORIES: Record<FileCategory, CategoryRule> = {
  profile_image: {
    allowedTypes: ["image/jpeg", "image/png", "image/webp", "image/gif", "image/avif"],
    maxSizeBytes: 5 * 1024 * 1024,
  },
  data_source: {
    allowedTypes: [
      "text/csv",
      "application/json",
      "text/plain",
      "application/pdf",
      "application/vnd.ms-excel",
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      "application/x-ndjson",
      "application/vnd.apache.parquet",
    ],
    maxSizeBytes: MAX_FILE_SIZE_BYTES,
  },
  general: { allowedTypes: null, maxSizeBytes: MAX_FILE_SIZE_BYTES },
};

export const CATEGORY_NAMES = Object.keys(CATEGORIES) as FileCategory[];
