CREATE TABLE IF NOT EXISTS orders_archive (LIKE orders INCLUDING ALL);
CREATE TABLE IF NOT EXISTS cities (name text PRIMARY KEY, population real);
CREATE TABLE capitals (state char(2)) INHERITS (cities);
