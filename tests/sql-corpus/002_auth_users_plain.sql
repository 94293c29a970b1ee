CREATE TABLE users (
  id bigserial PRIMARY KEY,
  email varchar(320) NOT NULL,
  password_hash text NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
INSERT INTO users (email, password_hash) VALUES ('admin@example.com', 'x');
