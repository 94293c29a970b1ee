CREATE TABLE IF NOT EXISTS customer_totals AS
  SELECT customer_id, sum(total) AS lifetime_value FROM orders GROUP BY customer_id;
CREATE TABLE order_snapshot AS TABLE orders WITH NO DATA;
CREATE UNLOGGED TABLE IF NOT EXISTS import_buffer (line text);
CREATE TEMP TABLE scratch (id int) ON COMMIT DROP;
