-- Enum types have no IF NOT EXISTS: guard with a DO block.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'invoice_status') THEN
    CREATE TYPE invoice_status AS ENUM ('draft', 'open', 'paid', 'void', 'uncollectible');
  END IF;
END
$$;
CREATE TABLE IF NOT EXISTS invoices (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  status invoice_status NOT NULL DEFAULT 'draft',
  total_cents bigint NOT NULL CHECK (total_cents >= 0)
);
