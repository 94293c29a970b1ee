CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer_id text NOT NULL REFERENCES customers(id),
  placed_at timestamptz NOT NULL DEFAULT now(),
  status text NOT NULL DEFAULT 'pending',
  total numeric(12,2) NOT NULL DEFAULT 0
);
CREATE TABLE order_items (
  order_id bigint NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
  line smallint NOT NULL,
  sku text NOT NULL REFERENCES products(sku),
  quantity integer NOT NULL CHECK (quantity > 0),
  unit_price numeric(12,2) NOT NULL,
  PRIMARY KEY (order_id, line)
);
CREATE INDEX order_items_sku_idx ON order_items (sku);
CREATE INDEX orders_customer_idx ON orders (customer_id, placed_at DESC);
