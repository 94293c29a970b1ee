DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_constraint WHERE conname = 'bookings_room_nonempty'
  ) THEN
    ALTER TABLE bookings ADD CONSTRAINT bookings_room_nonempty CHECK (room <> '');
  END IF;
END $$;
DO $$ BEGIN
  ALTER TABLE bookings RENAME COLUMN during TO period;
EXCEPTION WHEN undefined_column THEN NULL;
END $$;
