import type { Knex } from 'knex';

/**
 * A redemption held for review waits in `in_review`, its points held. The status check names the
 * statuses in full, as they were and as they are (see 20261201090100_redemption_status_lost).
 */
const before = [
  'requested',
  'points_held',
  'substitution_pending',
  'backordered',
  'stock_reserved',
  'shipment_requested',
  'shipped',
  'delivered',
  'issued',
  'completed',
  'returned',
  'refunded',
  'failed',
  'cancelled',
  'lost',
];
const after = [...before, 'in_review'];

const check = (statuses: string[]): string =>
  `ALTER TABLE redemptions DROP CONSTRAINT redemptions_status_check,
     ADD CONSTRAINT redemptions_status_check CHECK (status IN (${statuses
       .map((s) => `'${s}'`)
       .join(', ')}))`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(check(after));
}

export async function down(knex: Knex): Promise<void> {
  // Still holding points and undecided: `points_held` is the nearest status before review existed.
  await knex.raw(`UPDATE redemptions SET status = 'points_held' WHERE status = 'in_review'`);
  await knex.raw(check(before));
}
