import type { Knex } from 'knex';

/**
 * Suspended members (ledger/suspension.ts): a status of its own, so every check that reads the
 * status (earning, redeeming, dormancy) sees it; when and why, for the member page; and the audit
 * trail of every suspension and reinstatement (who, when, why).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE members DROP CONSTRAINT members_status_check;
    ALTER TABLE members ADD CONSTRAINT members_status_check
      CHECK (status IN ('active', 'dormant', 'closed', 'suspended'));
    ALTER TABLE members ADD COLUMN suspended_at timestamptz, ADD COLUMN suspension_reason text;
    CREATE TABLE member_suspensions (
      id bigserial PRIMARY KEY,
      member_id uuid NOT NULL REFERENCES members(id),
      action text NOT NULL CHECK (action IN ('suspend', 'reinstate')),
      reason text NOT NULL,
      actor text NOT NULL,
      at timestamptz NOT NULL);
    CREATE INDEX member_suspensions_member ON member_suspensions (member_id, id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE member_suspensions;
    UPDATE members SET status = 'active' WHERE status = 'suspended';
    ALTER TABLE members DROP COLUMN suspended_at, DROP COLUMN suspension_reason;
    ALTER TABLE members DROP CONSTRAINT members_status_check;
    ALTER TABLE members ADD CONSTRAINT members_status_check
      CHECK (status IN ('active', 'dormant', 'closed'));
  `);
}
