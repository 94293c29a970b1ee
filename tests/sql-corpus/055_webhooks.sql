CREATE TABLE IF NOT EXISTS webhook_endpoints (
  id text PRIMARY KEY,
  url text NOT NULL CHECK (url ~* '^https://'),
  secret text NOT NULL,
  events text[] NOT NULL,
  disabled_at timestamptz
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id bigserial PRIMARY KEY,
  endpoint_id text NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  event text NOT NULL,
  attempt smallint NOT NULL DEFAULT 1,
  response_status smallint,
  next_retry_at timestamptz,
  delivered_at timestamptz
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_retry_idx ON webhook_deliveries (next_retry_at)
  WHERE delivered_at IS NULL AND next_retry_at IS NOT NULL;
