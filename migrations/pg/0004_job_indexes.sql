-- Twin of migrations/0004_job_indexes.sql: the expiry job and start-up recovery look for uploads
-- stuck mid-PUT.
CREATE INDEX files_processing_started ON files (upload_started_at) WHERE processing_status = 'processing';
