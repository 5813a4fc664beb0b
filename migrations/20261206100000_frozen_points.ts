import type { Knex } from 'knex';

/**
 * Frozen points (ledger/frozen.ts): an accrual the earning detectors flagged lands on the ledger in
 * a bucket of its own, `frozen`, not spendable and not expiring, until ops release or void it.
 * The member total becomes available + pending + held + frozen - debt (the entry's `amount` check
 * says so); a frozen accrual opens a lot of status `frozen` (no spending, no expiry, no reminder);
 * `frozen_decisions` is the review's audit, one row per entry, so a second decision is refused.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE members ADD COLUMN frozen bigint NOT NULL DEFAULT 0,
      ADD CONSTRAINT members_frozen_check CHECK (frozen >= 0);
    ALTER TABLE ledger_entries ADD COLUMN frozen_delta bigint NOT NULL DEFAULT 0;
    ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_amount_check,
      ADD CONSTRAINT ledger_entries_amount_check
        CHECK (amount = available_delta + pending_delta + held_delta + frozen_delta - debt_delta);
    ALTER TABLE lots DROP CONSTRAINT lots_status_check,
      ADD CONSTRAINT lots_status_check CHECK (status IN ('pending', 'active', 'frozen'));
    CREATE INDEX lots_frozen ON lots (member_id, id) WHERE status = 'frozen';
    CREATE TABLE frozen_decisions (
      entry_id bigint PRIMARY KEY REFERENCES ledger_entries (id),
      member_id uuid NOT NULL REFERENCES members (id),
      lot_id bigint NOT NULL REFERENCES lots (id),
      decision text NOT NULL CHECK (decision IN ('release', 'void')),
      points bigint NOT NULL,
      reason text NOT NULL,
      actor text NOT NULL,
      decision_entry_id bigint REFERENCES ledger_entries (id),
      at timestamptz NOT NULL);
    CREATE INDEX frozen_decisions_member ON frozen_decisions (member_id, at DESC);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE frozen_decisions;
    DROP INDEX lots_frozen;
    ALTER TABLE lots DROP CONSTRAINT lots_status_check,
      ADD CONSTRAINT lots_status_check CHECK (status IN ('pending', 'active'));
    ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_amount_check,
      ADD CONSTRAINT ledger_entries_amount_check
        CHECK (amount = available_delta + pending_delta + held_delta - debt_delta);
    ALTER TABLE ledger_entries DROP COLUMN frozen_delta;
    ALTER TABLE members DROP COLUMN frozen;
  `);
}
