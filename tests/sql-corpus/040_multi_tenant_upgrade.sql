ALTER TABLE ydtb_projects ADD COLUMN IF NOT EXISTS color text;
ALTER TABLE ydtb_projects ADD COLUMN IF NOT EXISTS position integer NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS ydtb_projects_position_idx ON ydtb_projects (workspace_id, position);
UPDATE ydtb_projects SET color = '#888888' WHERE color IS NULL;
