-- The reference workload: a Django admin dashboard over users and orders.
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS users (
    id         bigserial PRIMARY KEY,
    email      text NOT NULL,
    is_active  boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS orders (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users,
    status     text NOT NULL,
    amount     numeric(12,2) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS orders_user_id ON orders (user_id);
