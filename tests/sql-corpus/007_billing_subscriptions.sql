CREATE TABLE IF NOT EXISTS customers (
  id text PRIMARY KEY,
  stripe_customer_id text UNIQUE,
  email text NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE TABLE IF NOT EXISTS subscriptions (
  id text PRIMARY KEY,
  customer_id text NOT NULL REFERENCES customers(id),
  plan text NOT NULL,
  quantity integer NOT NULL DEFAULT 1 CHECK (quantity > 0),
  current_period_start timestamptz NOT NULL,
  current_period_end timestamptz NOT NULL,
  cancel_at_period_end boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS subscriptions_customer_idx ON subscriptions (customer_id) WHERE NOT cancel_at_period_end;
