ALTER TABLE orders ADD COLUMN IF NOT EXISTS currency char(3) NOT NULL;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS shipped_at timestamptz;
CREATE INDEX IF NOT EXISTS orders_status_idx ON orders (status);
ALTER TABLE order_items DROP CONSTRAINT IF EXISTS order_items_sku_fkey;
ALTER TABLE order_items ADD CONSTRAINT order_items_sku_fkey FOREIGN KEY (sku) REFERENCES products(sku);
