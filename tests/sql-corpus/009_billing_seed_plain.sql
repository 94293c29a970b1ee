INSERT INTO plans (code, name, monthly_cents) VALUES ('enterprise', 'Enterprise', 19900);
INSERT INTO plans (code, name, monthly_cents)
SELECT 'legacy', 'Legacy', 900
WHERE NOT EXISTS (SELECT 1 FROM plans WHERE code = 'legacy');
UPDATE plans SET monthly_cents = 1500 WHERE code = 'pro';
