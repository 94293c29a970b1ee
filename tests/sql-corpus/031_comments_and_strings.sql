/* A block comment /* nested */ still a comment; CREATE TABLE nope (); */
-- CREATE TABLE also_nope ();
CREATE TABLE IF NOT EXISTS messages (
  id serial PRIMARY KEY,
  body text NOT NULL DEFAULT E'line one\nline two; not a statement',
  quoted text DEFAULT 'it''s fine; really',
  tagged text DEFAULT $tag$ CREATE TABLE inside_dollar (); $tag$
);
COMMENT ON TABLE messages IS 'Messages; with a semicolon inside';
