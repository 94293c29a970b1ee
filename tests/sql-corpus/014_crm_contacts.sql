CREATE TABLE IF NOT EXISTS companies (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  domain text,
  employees integer,
  annual_revenue numeric(14, 2)
);
CREATE TABLE IF NOT EXISTS contacts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id uuid REFERENCES companies(id) ON DELETE SET NULL,
  first_name text NOT NULL,
  last_name text NOT NULL,
  email text,
  phone text,
  owner_id uuid,
  tags text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS contacts_company_idx ON contacts (company_id);
CREATE INDEX IF NOT EXISTS contacts_tags_idx ON contacts USING gin (tags);
CREATE UNIQUE INDEX IF NOT EXISTS companies_domain_key ON companies (lower(domain)) WHERE domain IS NOT NULL;
