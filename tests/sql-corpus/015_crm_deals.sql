CREATE SEQUENCE deal_number_seq START 1000;
CREATE TABLE deals (
  id bigint PRIMARY KEY DEFAULT nextval('deal_number_seq'),
  contact_id uuid NOT NULL REFERENCES contacts(id),
  stage text NOT NULL CHECK (stage IN ('lead', 'qualified', 'proposal', 'won', 'lost')),
  amount numeric(12,2),
  closes_on date
);
ALTER SEQUENCE deal_number_seq OWNED BY deals.id;
