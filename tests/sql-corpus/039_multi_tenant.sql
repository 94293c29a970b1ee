CREATE TABLE IF NOT EXISTS ydtb_workspaces (
  id text PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS ydtb_projects (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  archived boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS ydtb_projects_workspace_id_idx ON ydtb_projects (workspace_id);
