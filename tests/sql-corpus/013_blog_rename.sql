ALTER TABLE posts RENAME COLUMN body TO content;
ALTER TABLE IF EXISTS post_tags RENAME TO posts_tags;
ALTER TABLE authors RENAME TO writers;
ALTER INDEX IF EXISTS posts_published_idx RENAME TO posts_published_at_idx;
