CREATE TYPE subscription_status AS ENUM ('trialing', 'active', 'past_due', 'canceled');
CREATE TYPE money_amount AS (currency char(3), cents bigint);
ALTER TYPE subscription_status ADD VALUE 'paused';
ALTER TYPE subscription_status ADD VALUE IF NOT EXISTS 'unpaid' AFTER 'past_due';
