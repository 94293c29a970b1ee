CREATE OR REPLACE FUNCTION jsonb_merge_deep(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN jsonb_typeof(a) = 'object' AND jsonb_typeof(b) = 'object' THEN (
      SELECT jsonb_object_agg(k, CASE WHEN a ? k AND b ? k THEN jsonb_merge_deep(a -> k, b -> k)
                                      WHEN b ? k THEN b -> k ELSE a -> k END)
        FROM (SELECT jsonb_object_keys(a) UNION SELECT jsonb_object_keys(b)) AS keys(k))
    ELSE b
  END
$$;
CREATE OR REPLACE PROCEDURE archive_old_events(cutoff timestamptz)
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM events WHERE occurred_at < cutoff;
  COMMIT;
END $$;
