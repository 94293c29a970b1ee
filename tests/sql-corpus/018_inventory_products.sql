CREATE TABLE IF NOT EXISTS warehouses (
  id smallserial PRIMARY KEY,
  code char(4) NOT NULL UNIQUE,
  address jsonb
);
CREATE TABLE IF NOT EXISTS products (
  sku text PRIMARY KEY,
  name text NOT NULL,
  weight_grams integer CHECK (weight_grams > 0),
  dimensions_cm numeric(6,1)[],
  price_cents integer NOT NULL,
  price_with_tax_cents integer GENERATED ALWAYS AS (price_cents * 120 / 100) STORED
);
CREATE TABLE IF NOT EXISTS stock (
  warehouse_id smallint NOT NULL REFERENCES warehouses(id),
  sku text NOT NULL REFERENCES products(sku) ON UPDATE CASCADE,
  on_hand integer NOT NULL DEFAULT 0,
  reserved integer NOT NULL DEFAULT 0,
  PRIMARY KEY (warehouse_id, sku),
  CHECK (reserved <= on_hand)
);
