CREATE FUNCTION touch_updated_at() RETURNS trigger AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER products_touch BEFORE UPDATE ON products
  FOR EACH ROW EXECUTE PROCEDURE touch_updated_at();
CREATE OR REPLACE TRIGGER stock_touch BEFORE UPDATE ON stock
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
