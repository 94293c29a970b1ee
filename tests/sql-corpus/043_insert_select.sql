INSERT INTO audit.log (table_name, op, new_row)
SELECT 'products', 'I', to_jsonb(p) FROM products p;
INSERT INTO plans (code, name, monthly_cents) SELECT code, name, 0 FROM legacy_plans
ON CONFLICT (code) DO NOTHING;
