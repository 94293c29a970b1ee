BEGIN;
SET LOCAL lock_timeout = '3s';
ALTER TABLE webhook_endpoints ADD COLUMN IF NOT EXISTS description text;
COMMIT;
