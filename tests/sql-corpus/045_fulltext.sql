ALTER TABLE posts ADD COLUMN IF NOT EXISTS search_simple tsvector
  GENERATED ALWAYS AS (to_tsvector('simple', coalesce(title, ''))) STORED;
CREATE INDEX IF NOT EXISTS posts_search_simple_idx ON posts USING gin (search_simple);
SELECT id FROM posts WHERE search @@ websearch_to_tsquery('english', 'postgres -mysql') LIMIT 1;
