CREATE TABLE IF NOT EXISTS tags (id serial PRIMARY KEY, name citext NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS post_tags (
  post_id integer NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
  tag_id integer NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
  PRIMARY KEY (post_id, tag_id)
);
INSERT INTO tags (name) VALUES ('postgres'), ('sql') ON CONFLICT DO NOTHING;
