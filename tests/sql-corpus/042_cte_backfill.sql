WITH ranked AS (
  SELECT id, row_number() OVER (PARTITION BY workspace_id ORDER BY title) AS rn
    FROM ydtb_kanban_cards
)
UPDATE ydtb_kanban_cards c SET title = c.title || ' #' || r.rn
  FROM ranked r WHERE r.id = c.id AND c.title = '';
DELETE FROM ydtb_kanban_cards WHERE column_id NOT IN (SELECT id FROM ydtb_kanban_columns);
