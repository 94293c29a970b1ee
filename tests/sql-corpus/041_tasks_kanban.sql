CREATE TABLE IF NOT EXISTS ydtb_kanban_columns (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,
  title text NOT NULL,
  position integer NOT NULL,
  UNIQUE (workspace_id, position) DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE IF NOT EXISTS ydtb_kanban_cards (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,
  column_id text NOT NULL REFERENCES ydtb_kanban_columns(id) ON DELETE CASCADE,
  title text NOT NULL,
  due_on date,
  labels jsonb NOT NULL DEFAULT '[]'::jsonb
);
CREATE INDEX IF NOT EXISTS ydtb_kanban_cards_workspace_id_idx ON ydtb_kanban_cards (workspace_id);
