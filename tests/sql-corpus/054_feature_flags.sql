CREATE TABLE IF NOT EXISTS feature_flags (
  key text PRIMARY KEY,
  enabled boolean NOT NULL DEFAULT false,
  rollout_percent smallint NOT NULL DEFAULT 0 CHECK (rollout_percent BETWEEN 0 AND 100),
  rules jsonb
);
INSERT INTO feature_flags (key, enabled) VALUES ('new_editor', false), ('beta_billing', true)
ON CONFLICT (key) DO NOTHING;
INSERT INTO feature_flags (key) VALUES ('dark_mode');
