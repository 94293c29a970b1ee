ALTER TABLE ydtb_projects ADD COLUMN IF NOT EXISTS deleted_at timestamptz;
CREATE OR REPLACE VIEW ydtb_projects_live AS
  SELECT * FROM ydtb_projects WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS ydtb_projects_deleted_idx ON ydtb_projects (workspace_id) WHERE deleted_at IS NULL;
