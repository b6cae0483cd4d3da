-- Twin of migrations/0010_failed_object_sweep.sql: the expiry job retries the object delete of
-- failed uploads until it succeeds (then purged_at is set).
CREATE INDEX files_failed_unpurged ON files (id) WHERE processing_status = 'failed' AND purged_at IS NULL;
