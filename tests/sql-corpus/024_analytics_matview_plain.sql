CREATE MATERIALIZED VIEW weekly_signups AS
  SELECT date_trunc('week', created_at) AS week, count(*) AS signups FROM users GROUP BY 1;
CREATE VIEW active_sessions AS SELECT * FROM sessions WHERE expires_at > now();
CREATE OR REPLACE VIEW recent_posts AS
  SELECT id, title, published_at FROM posts WHERE published_at > now() - interval '30 days';
