CREATE TABLE IF NOT EXISTS plans (
  code text PRIMARY KEY,
  name text NOT NULL,
  monthly_cents integer NOT NULL
);
INSERT INTO plans (code, name, monthly_cents) VALUES
  ('free', 'Free', 0),
  ('pro', 'Pro', 1200),
  ('team', 'Team', 4900)
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, monthly_cents = EXCLUDED.monthly_cents;
