-- Token buckets of the request rate limits, shared by every instance of a PostgreSQL deployment
-- (docs/security.md, "Rate limits"). SQLite keeps them in memory (one process): this table exists
-- here only so both dialects have the same schema. Tokens are counted in millionths (integers in
-- both dialects). A bucket past full_at has refilled and is the same as no bucket: swept.
CREATE TABLE rate_limit_buckets (
  key          TEXT PRIMARY KEY,
  micro_tokens INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  full_at      INTEGER NOT NULL,
  taken        INTEGER NOT NULL
);
CREATE INDEX rate_limit_buckets_full_at ON rate_limit_buckets (full_at);
