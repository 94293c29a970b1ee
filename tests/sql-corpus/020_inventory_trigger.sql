CREATE OR REPLACE FUNCTION stock_apply_movement() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  UPDATE stock SET on_hand = on_hand + NEW.delta
   WHERE warehouse_id = NEW.warehouse_id AND sku = NEW.sku;
  IF NOT FOUND THEN
    INSERT INTO stock (warehouse_id, sku, on_hand) VALUES (NEW.warehouse_id, NEW.sku, NEW.delta);
  END IF;
  RETURN NEW;
END;
$fn$;
DROP TRIGGER IF EXISTS stock_movements_apply ON stock_movements;
CREATE TRIGGER stock_movements_apply AFTER INSERT ON stock_movements
  FOR EACH ROW EXECUTE FUNCTION stock_apply_movement();
