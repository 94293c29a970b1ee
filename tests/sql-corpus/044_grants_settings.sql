SET statement_timeout = '5min';
SET LOCAL lock_timeout = '10s';
GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO analyst;
REVOKE ALL ON audit.log FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT SELECT ON TABLES TO analyst;
COMMENT ON SCHEMA reporting IS 'read-only views for BI';
