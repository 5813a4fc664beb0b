/**
 * The inventory's building blocks, used inside one transaction per change: the SKU's row is
 * locked first (`FOR UPDATE`), so changes to one SKU are serial; program events go to the outbox
 * in the same transaction; a change that leaves stock low starts a low-stock episode.
 */
import { invalid, notFound } from '../domain/refusal';
import type { Trx } from '../infra/db';

export interface InventoryRow {
  sku: string;
  on_hand: number;
  reserved: number;
  /** on_hand - reserved (a generated column). */
  available: number;
  threshold: number;
  replenishment_requested_at: Date | null;
  replenishment_requests: number;
  updated_at: Date;
}

export function assertQuantity(quantity: number): void {
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > 1_000_000_000) {
    throw invalid(
      `quantity must be a whole number from 1, not ${quantity}.`,
      'quantity',
      'must be a whole number of at least 1',
    );
  }
}

/** Locks the SKU's inventory row; an unknown SKU, or a reward without stock, is refused. */
export async function lockInventory(trx: Trx, sku: string): Promise<InventoryRow> {
  const row = await trx<InventoryRow>('inventory').where({ sku }).forUpdate().first();
  if (row) return row;
  const reward = await trx('rewards')
    .where({ id: sku })
    .first<{ kind: string } | undefined>('kind');
  if (!reward) throw notFound('reward', 'sku', sku);
  throw invalid(
    `Reward '${sku}' is a ${reward.kind}: it has no inventory.`,
    'sku',
    'only physical rewards have inventory',
  );
}

export async function programEvent(
  trx: Trx,
  type: string,
  dedupeKey: string,
  payload: Record<string, unknown>,
  now: Date,
): Promise<void> {
  await trx.raw(
    `INSERT INTO program_events (type, dedupe_key, payload, occurred_at)
     VALUES (?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
    [type, dedupeKey, JSON.stringify(payload), now],
  );
}

/**
 * Starts a low-stock episode when `row` is low (available < threshold) and none is
 * outstanding: numbered, so the request is in the outbox once per episode.
 */
export async function requestReplenishmentIfLow(
  trx: Trx,
  row: InventoryRow,
  now: Date,
): Promise<InventoryRow> {
  if (row.available >= row.threshold || row.replenishment_requested_at) return row;
  const episode = row.replenishment_requests + 1;
  const [updated] = await trx<InventoryRow>('inventory')
    .where({ sku: row.sku })
    .update({ replenishment_requested_at: now, replenishment_requests: episode })
    .returning('*');
  await programEvent(
    trx,
    'inventory.replenishment_requested',
    `inventory.replenishment_requested:${row.sku}:${episode}`,
    { sku: row.sku, available: row.available, threshold: row.threshold },
    now,
  );
  return updated!;
}

/** The stock of a new physical reward (inside the reward's creation); may start low already. */
export async function createInventory(
  trx: Trx,
  input: { sku: string; onHand: number; threshold: number },
  now: Date,
): Promise<InventoryRow> {
  const [row] = await trx<InventoryRow>('inventory')
    .insert({ sku: input.sku, on_hand: input.onHand, threshold: input.threshold, updated_at: now })
    .returning('*');
  return requestReplenishmentIfLow(trx, row!, now);
}
