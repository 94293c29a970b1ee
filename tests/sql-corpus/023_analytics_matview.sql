CREATE MATERIALIZED VIEW IF NOT EXISTS daily_active_users AS
SELECT date_trunc('day', occurred_at) AS day, count(DISTINCT user_id) AS users
  FROM events
 GROUP BY 1
WITH NO DATA;
CREATE UNIQUE INDEX IF NOT EXISTS daily_active_users_day_key ON daily_active_users (day);
REFRESH MATERIALIZED VIEW daily_active_users;
