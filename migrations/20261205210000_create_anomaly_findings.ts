import type { Knex } from 'knex';

/**
 * What the anomaly detectors (guardrails/) found: which detector, about whom and what, what was
 * seen, the threshold it crossed and why it fired. `dedupe_key` makes recording a finding twice
 * (a retried activity, a repeated screen of the same redemption) a no-op.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE anomaly_findings (
      id bigserial PRIMARY KEY,
      detector text NOT NULL,
      member_id uuid REFERENCES members (id),
      subject text NOT NULL,
      seen jsonb NOT NULL,
      threshold jsonb NOT NULL,
      why text NOT NULL,
      rule_version integer REFERENCES rule_sets (version),
      dedupe_key text NOT NULL UNIQUE,
      at timestamptz NOT NULL);
    CREATE INDEX anomaly_findings_by_at ON anomaly_findings (at DESC);
    CREATE INDEX anomaly_findings_by_member ON anomaly_findings (member_id, at DESC);`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE anomaly_findings;');
}
