CREATE RULE protect_log AS ON DELETE TO audit.log DO INSTEAD NOTHING;
CREATE OR REPLACE RULE protect_log_update AS ON UPDATE TO audit.log DO INSTEAD NOTHING;
ALTER TABLE audit.log SET (autovacuum_vacuum_scale_factor = 0.01);
CLUSTER verifications USING verifications_identifier_idx;
ANALYZE verifications;
