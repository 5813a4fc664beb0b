import type { Knex } from 'knex';

/**
 * Programme budget counters (domain/budgets.ts, budgets/). A budget's usage in a period is the sum
 * of its slots' `used`. Points budgets spread it over slots (by member hash) with quota escrow:
 * each slot may use up to its `allowance`, handed out from the period row's `granted`, so no one
 * row is written by every accrual (see budgets/points.ts). Redemption and gift-card budgets use
 * slot 0 alone. `budget_takes` remembers what a redemption took, in which period, so a release or
 * a refund gives exactly that back, once.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE budget_periods (
      budget text NOT NULL,
      period text NOT NULL,
      granted bigint NOT NULL DEFAULT 0 CHECK (granted >= 0),
      PRIMARY KEY (budget, period));
    CREATE TABLE budget_slots (
      budget text NOT NULL,
      period text NOT NULL,
      slot smallint NOT NULL,
      allowance bigint NOT NULL DEFAULT 0,
      used bigint NOT NULL DEFAULT 0 CHECK (used >= 0),
      PRIMARY KEY (budget, period, slot));
    CREATE TABLE budget_takes (
      source text NOT NULL,
      budget text NOT NULL,
      period text NOT NULL,
      units bigint NOT NULL CHECK (units > 0),
      taken_at timestamptz NOT NULL,
      given_back_at timestamptz,
      PRIMARY KEY (source, budget));
    CREATE INDEX budget_takes_by_period ON budget_takes (budget, period, taken_at);`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE budget_takes; DROP TABLE budget_slots; DROP TABLE budget_periods;');
}
