-- Create next month's partition if it is missing.
DO $body$
DECLARE
  start_on date := date_trunc('month', now() + interval '1 month');
  part text := format('events_%s', to_char(start_on, 'YYYY_MM'));
BEGIN
  EXECUTE format(
    'CREATE TABLE IF NOT EXISTS %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
    part, start_on, start_on + interval '1 month');
END
$body$ LANGUAGE plpgsql;
