ALTER TABLE contacts ADD COLUMN IF NOT EXISTS linkedin_url text;
ALTER TABLE contacts ADD COLUMN last_contacted_at timestamptz;
ALTER TABLE contacts
  ADD COLUMN lifecycle text NOT NULL DEFAULT 'subscriber',
  ADD COLUMN IF NOT EXISTS score integer DEFAULT 0;
COMMENT ON COLUMN contacts.lifecycle IS 'marketing lifecycle stage';
