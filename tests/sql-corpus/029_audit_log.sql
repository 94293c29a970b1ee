CREATE TABLE IF NOT EXISTS audit.log (
  id bigserial PRIMARY KEY,
  table_name text NOT NULL,
  op char(1) NOT NULL CHECK (op IN ('I', 'U', 'D')),
  old_row jsonb,
  new_row jsonb,
  changed_by text DEFAULT current_user,
  changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE OR REPLACE FUNCTION audit.record() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  INSERT INTO audit.log (table_name, op, old_row, new_row)
  VALUES (TG_TABLE_NAME, left(TG_OP, 1),
          CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
          CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
  RETURN COALESCE(NEW, OLD);
END $$;
