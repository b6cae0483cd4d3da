-- The expiry job and start-up recovery look for uploads stuck mid-PUT; without this index that
-- was a full scan of files (~220-310 ms at 1M files, stalling the event loop).
CREATE INDEX files_processing_started ON files (upload_started_at) WHERE processing_status = 'processing';
