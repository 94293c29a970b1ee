CREATE TABLE IF NOT EXISTS api_keys (
  id bigint GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 1) PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  prefix char(8) NOT NULL,
  hashed_key bytea NOT NULL,
  scopes text[] NOT NULL DEFAULT ARRAY['read']::text[],
  last_used_at timestamptz,
  expires_at timestamptz DEFAULT (now() + interval '90 days'),
  CONSTRAINT api_keys_prefix_key UNIQUE (prefix)
);
CREATE INDEX IF NOT EXISTS api_keys_user_idx ON api_keys (user_id) INCLUDE (prefix);
