import type { FileRow } from "../../db/schema";

/** The file object of docs/api.md (list items, get, webhook payloads). */
export function fileView(f: FileRow) {
  return {
    id: f.id,
    url: `/api/v1/files/${f.id}/download`,
    originalName: f.originalName,
    fileType: f.fileType,
    sizeBytes: f.sizeBytes,
    context: f.context,
    tags: f.tags,
    metadata: f.metadata,
    processingStatus: f.processingStatus,
    workspaceId: f.workspaceId,
    createdAt: new Date(f.createdAt).toISOString(),
  };
}
