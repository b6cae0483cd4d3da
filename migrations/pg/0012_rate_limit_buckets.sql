-- Token buckets of the request rate limits, shared by every instance (twin of
-- migrations/0012_rate_limit_buckets.sql). UNLOGGED: written on every request and worthless after
-- a crash (losing them only refills every bucket), so they skip the write-ahead log.
CREATE UNLOGGED TABLE rate_limit_buckets (
  key          TEXT PRIMARY KEY,
  micro_tokens BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL,
  full_at      BIGINT NOT NULL,
  taken        INTEGER NOT NULL
);
CREATE INDEX rate_limit_buckets_full_at ON rate_limit_buckets (full_at);
