-- Resumable (tus) uploads in progress (twin of migrations/0007_tus_uploads.sql). The files row
-- (status pending, quota reserved for upload_length) is created with this row; this one records
-- how far the bytes got.
CREATE TABLE tus_uploads (
  file_id           TEXT PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
  tenant_id         TEXT NOT NULL,
  upload_length     BIGINT NOT NULL CHECK (upload_length > 0),
  upload_offset     BIGINT NOT NULL DEFAULT 0 CHECK (upload_offset >= 0 AND upload_offset <= upload_length),
  wrapped_key       TEXT NOT NULL,                -- the object's data key, wrapped by the master key
  key_id            TEXT NOT NULL,
  parts_id          TEXT NOT NULL,                -- backend assembly: S3 multipart upload id / local staging file
  segments_per_part INTEGER NOT NULL,
  tail_version      INTEGER NOT NULL DEFAULT 0,   -- staging blob with the unfinished part's bytes; 0 = none
  metadata          TEXT,                         -- the Upload-Metadata header as received (echoed by HEAD)
  expires_at        BIGINT NOT NULL,
  created_at        BIGINT NOT NULL,
  updated_at        BIGINT NOT NULL
);
CREATE INDEX tus_uploads_expires ON tus_uploads (expires_at);

-- Parts stored and recorded at a checkpoint (S3 needs every part's ETag to complete).
CREATE TABLE tus_upload_parts (
  file_id     TEXT NOT NULL REFERENCES tus_uploads(file_id) ON DELETE CASCADE,
  part_number INTEGER NOT NULL,
  etag        TEXT NOT NULL,
  PRIMARY KEY (file_id, part_number)
);
