-- transaction = false
CREATE INDEX CONCURRENTLY IF NOT EXISTS contacts_email_lower_idx ON contacts (lower(email));
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS deals_contact_stage_idx ON deals (contact_id, stage) WHERE stage <> 'lost';
CREATE INDEX CONCURRENTLY contacts_name_trgm_idx ON contacts USING gin ((first_name || ' ' || last_name) gin_trgm_ops);
