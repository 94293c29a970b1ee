ALTER TABLE products ALTER COLUMN name TYPE varchar(200);
ALTER TABLE products ALTER COLUMN weight_grams SET DEFAULT 1;
ALTER TABLE products ALTER COLUMN name SET NOT NULL;
ALTER TABLE stock ALTER COLUMN reserved DROP DEFAULT;
ALTER TABLE products ALTER COLUMN price_cents TYPE bigint USING price_cents::bigint;
