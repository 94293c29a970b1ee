ALTER TABLE deals DROP CONSTRAINT IF EXISTS deals_amount_positive;
ALTER TABLE deals ADD CONSTRAINT deals_amount_positive CHECK (amount >= 0);
ALTER TABLE contacts ADD CONSTRAINT contacts_email_key UNIQUE (email);
ALTER TABLE contacts ADD CONSTRAINT contacts_owner_fk FOREIGN KEY (owner_id) REFERENCES users(id) NOT VALID;
ALTER TABLE contacts VALIDATE CONSTRAINT contacts_owner_fk;
