CREATE TABLE IF NOT EXISTS stock_movements (
  id bigserial,
  warehouse_id smallint NOT NULL,
  sku text NOT NULL,
  delta integer NOT NULL,
  reason text NOT NULL,
  moved_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, moved_at)
) PARTITION BY RANGE (moved_at);
CREATE TABLE IF NOT EXISTS stock_movements_2024 PARTITION OF stock_movements
  FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE IF NOT EXISTS stock_movements_2025 PARTITION OF stock_movements
  FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE IF NOT EXISTS stock_movements_default PARTITION OF stock_movements DEFAULT;
