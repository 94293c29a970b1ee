DROP TABLE legacy_events;
DROP VIEW IF EXISTS legacy_report;
DROP INDEX legacy_events_time_idx;
DROP SEQUENCE legacy_seq, legacy_seq2;
DROP TYPE IF EXISTS legacy_kind;
DROP FUNCTION legacy_cleanup();
