CREATE TABLE IF NOT EXISTS authors (
  id serial PRIMARY KEY,
  display_name text NOT NULL,
  bio text
);
CREATE TABLE IF NOT EXISTS posts (
  id serial PRIMARY KEY,
  author_id integer NOT NULL REFERENCES authors(id) ON DELETE RESTRICT,
  slug text NOT NULL UNIQUE,
  title text NOT NULL,
  body text NOT NULL DEFAULT '',
  published_at timestamptz,
  search tsvector GENERATED ALWAYS AS (to_tsvector('english', title || ' ' || body)) STORED
);
CREATE INDEX IF NOT EXISTS posts_search_idx ON posts USING gin (search);
CREATE INDEX IF NOT EXISTS posts_published_idx ON posts (published_at DESC NULLS LAST);
