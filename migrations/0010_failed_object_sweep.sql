-- The expiry job retries the object delete of failed uploads until it succeeds (then purged_at
-- is set). This keeps that lookup off a full scan of files.
CREATE INDEX files_failed_unpurged ON files (id) WHERE processing_status = 'failed' AND purged_at IS NULL;
