-- Leases on background work, so several instances sharing one database each take a unit of work
-- alone and an instance that dies mid-work has it retaken once its lease ends (docs/architecture.md,
-- "Jobs"). A lease is an epoch-ms time; NULL = not claimed.
-- A delivery in 'delivering' belongs to the sender whose lease_until is in the row; its outcome is
-- recorded only while that lease is still the row's.
ALTER TABLE webhook_deliveries ADD COLUMN lease_until INTEGER;
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_until) WHERE status = 'delivering';
-- Object deletes of the purge and of the failed-upload sweep.
ALTER TABLE files ADD COLUMN sweep_lease_until INTEGER;
-- The tus sweep (expire, settle after a crash, drop staging data).
ALTER TABLE tus_uploads ADD COLUMN sweep_lease_until INTEGER;
