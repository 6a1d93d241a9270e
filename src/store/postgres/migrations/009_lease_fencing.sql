-- Leases become rows with a time to live and an epoch (src/store/postgres/lease.ts explains why
-- a row rather than an advisory lock). Numbered 009, not 002, so that the store's own next
-- migrations (confirmations, journals, tasks) keep the low numbers without a clash.

-- `expires_at` is on the server's clock: every instance compares it with the same now().
-- `epoch` grows with every change of holder (and every re-acquisition), so that a holder that
-- lost the lease and took it again is a different holder to whoever checks the epoch.
ALTER TABLE leases
  ADD COLUMN epoch bigint NOT NULL DEFAULT 1,
  ADD COLUMN expires_at timestamptz NOT NULL DEFAULT now();

-- A claim remembers the epoch it was made under: the successor finds the claims of earlier
-- epochs that were never answered.
ALTER TABLE inbound_claims ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
