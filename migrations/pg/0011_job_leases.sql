-- Twin of migrations/0011_job_leases.sql: leases on background work shared by several instances
-- (epoch-ms; NULL = not claimed).
ALTER TABLE webhook_deliveries ADD COLUMN lease_until BIGINT;
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_until) WHERE status = 'delivering';
ALTER TABLE files ADD COLUMN sweep_lease_until BIGINT;
ALTER TABLE tus_uploads ADD COLUMN sweep_lease_until BIGINT;
