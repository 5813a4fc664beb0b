import type { Knex } from 'knex';

/**
 * A redemption can end `lost`: shipped, never delivered within the program's
 * `redemption.lostAfter`, points given back. The status check names the statuses in full, as
 * they were and as they are, so the migration means the same whatever the code says later.
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
];
const after = [...before, 'lost'];

const check = (statuses: string[]): string =>
  `ALTER TABLE redemptions DROP CONSTRAINT redemptions_status_check,
     ADD CONSTRAINT redemptions_status_check CHECK (status IN (${statuses
       .map((s) => `'${s}'`)
       .join(', ')}))`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(check(after));
}

export async function down(knex: Knex): Promise<void> {
  // Ended, with the points given back: `failed` is the nearest status before `lost` existed.
  await knex.raw(`UPDATE redemptions SET status = 'failed' WHERE status = 'lost'`);
  await knex.raw(check(before));
}
