CREATE DOMAIN email_address AS citext CHECK (VALUE ~ '^[^@\s]+@[^@\s]+$');
CREATE TYPE time_slot AS RANGE (subtype = timestamptz);
CREATE TABLE IF NOT EXISTS bookings (
  id serial PRIMARY KEY,
  room text NOT NULL,
  during tstzrange NOT NULL,
  EXCLUDE USING gist (room WITH =, during WITH &&)
);
