/**
 * Stock of physical rewards: reservations for redemptions (reserve, release, ship, return),
 * deliveries and admin corrections. Every change runs in one transaction under the inventory
 * row's lock, so callers for one SKU are serial; the table's constraints (`reserved <= on_hand`,
 * both >= 0) make overselling impossible whoever writes. Each step happens once per redemption.
 *
 * Low stock: when a change leaves `available` below `threshold` and no replenishment is
 * outstanding, one `inventory.replenishment_requested` program event is written (numbered per
 * low-stock episode, so the outbox has it once); stock arriving (`replenish`) that brings
 * `available` back to the threshold ends the episode.
 */
import { conflict, invalid, notFound } from '../domain/refusal';
import type { Db, Trx } from '../infra/db';
import {
  assertQuantity,
  lockInventory,
  programEvent,
  requestReplenishmentIfLow,
  type InventoryRow,
} from './store';

export type { InventoryRow } from './store';

export type ReservationStatus = 'reserved' | 'released' | 'shipped' | 'returned';

export interface ReservationRow {
  redemption_id: string;
  sku: string;
  quantity: number;
  status: ReservationStatus;
  created_at: Date;
  updated_at: Date;
}

export type ReserveResult =
  { status: 'reserved'; available: number } | { status: 'out_of_stock'; available: number };

const reservationConflict = (message: string) => conflict(message, 'redemptionId');

/**
 * Reserves `quantity` of `sku` for a redemption, or answers `out_of_stock` (and records nothing)
 * when fewer are available. A repeat for the same redemption reserves nothing more.
 */
export async function reserveStock(
  db: Db,
  input: { redemptionId: string; sku: string; quantity: number },
  now: Date = new Date(),
): Promise<ReserveResult> {
  assertQuantity(input.quantity);
  return db.transaction(async (trx) => {
    const inventory = await lockInventory(trx, input.sku);
    const repeat = async (): Promise<ReserveResult> => {
      const existing = (await getReservation(trx, input.redemptionId))!;
      if (existing.sku !== input.sku || existing.quantity !== input.quantity) {
        throw reservationConflict(
          `redemption ${input.redemptionId} already reserved ${existing.quantity} of ${existing.sku}`,
        );
      }
      if (existing.status === 'released')
        throw reservationConflict(
          `the reservation of redemption ${input.redemptionId} was released`,
        );
      return { status: 'reserved', available: inventory.available };
    };
    if (await getReservation(trx, input.redemptionId)) return repeat();
    if (inventory.available < input.quantity)
      return { status: 'out_of_stock', available: inventory.available };
    // A concurrent reservation of the same redemption for another SKU may have won the key.
    const inserted = await trx('stock_reservations')
      .insert({
        redemption_id: input.redemptionId,
        sku: input.sku,
        quantity: input.quantity,
        status: 'reserved',
        created_at: now,
        updated_at: now,
      })
      .onConflict('redemption_id')
      .ignore()
      .returning('redemption_id');
    if (inserted.length === 0) return repeat();
    const [updated] = await trx<InventoryRow>('inventory')
      .where({ sku: input.sku })
      .update({ reserved: trx.raw('reserved + ?', [input.quantity]), updated_at: now })
      .returning('*');
    const row = await requestReplenishmentIfLow(trx, updated!, now);
    return { status: 'reserved', available: row.available };
  });
}

interface Step {
  from: ReservationStatus;
  to: ReservationStatus;
  /** What on_hand and reserved change by, in multiples of the reservation's quantity. */
  onHand: -1 | 0 | 1;
  reserved: -1 | 0;
}

const steps = {
  release: { from: 'reserved', to: 'released', onHand: 0, reserved: -1 },
  ship: { from: 'reserved', to: 'shipped', onHand: -1, reserved: -1 },
  return: { from: 'shipped', to: 'returned', onHand: 1, reserved: 0 },
} as const satisfies Record<string, Step>;

/**
 * Moves a reservation one step on. A repeat (already `to`) changes nothing; a reservation in any
 * other status is a 409.
 */
async function transition(
  db: Db,
  redemptionId: string,
  step: Step,
  now: Date,
): Promise<ReservationRow> {
  return db.transaction(async (trx) => {
    const found = await getReservation(trx, redemptionId);
    if (!found) throw notFound('stock reservation', 'redemptionId', redemptionId);
    // Inventory first, then the reservation: the order every change here takes its locks in.
    await lockInventory(trx, found.sku);
    const reservation = (await trx<ReservationRow>('stock_reservations')
      .where({ redemption_id: redemptionId })
      .forUpdate()
      .first())!;
    if (reservation.status === step.to) return reservation;
    if (reservation.status !== step.from) {
      throw reservationConflict(
        `the stock of redemption ${redemptionId} is ${reservation.status}: it cannot be ${step.to}`,
      );
    }
    const [updated] = await trx<ReservationRow>('stock_reservations')
      .where({ redemption_id: redemptionId })
      .update({ status: step.to, updated_at: now })
      .returning('*');
    const q = reservation.quantity;
    const [inventory] = await trx<InventoryRow>('inventory')
      .where({ sku: reservation.sku })
      .update({
        on_hand: trx.raw('on_hand + ?', [step.onHand * q]),
        reserved: trx.raw('reserved + ?', [step.reserved * q]),
        updated_at: now,
      })
      .returning('*');
    await requestReplenishmentIfLow(trx, inventory!, now);
    return updated!;
  });
}

type ByRedemption = { redemptionId: string };

/**
 * Gives reserved stock back (a cancelled or failed redemption). Nothing to release (the
 * redemption reserved nothing, or ran out of stock) is null, so compensation can always call it;
 * shipped stock is a 409.
 */
export async function releaseStock(
  db: Db,
  input: ByRedemption,
  now = new Date(),
): Promise<ReservationRow | null> {
  if (!(await getReservation(db, input.redemptionId))) return null;
  return transition(db, input.redemptionId, steps.release, now);
}

/** The reserved stock leaves the warehouse: on_hand and reserved both go down. */
export function shipStock(db: Db, input: ByRedemption, now = new Date()): Promise<ReservationRow> {
  return transition(db, input.redemptionId, steps.ship, now);
}

/** Shipped stock came back: on_hand goes up again. */
export function returnStock(
  db: Db,
  input: ByRedemption,
  now = new Date(),
): Promise<ReservationRow> {
  return transition(db, input.redemptionId, steps.return, now);
}

/**
 * Stock arrived: on_hand goes up by `quantity`, once per delivery `reference` (a repeat changes
 * nothing; the same reference with another quantity is a 409). Ends the low-stock episode when
 * available is back at the threshold. Writes `inventory.replenished`.
 */
export async function replenish(
  db: Db,
  input: { sku: string; quantity: number; reference: string; actor: string },
  now: Date = new Date(),
): Promise<{ replenished: boolean; inventory: InventoryRow }> {
  assertQuantity(input.quantity);
  return db.transaction(async (trx) => {
    const current = await lockInventory(trx, input.sku);
    const dedupeKey = `inventory.replenished:${input.sku}:${input.reference}`;
    const earlier = await trx('program_events')
      .where({ dedupe_key: dedupeKey })
      .first<{ payload: { quantity: number } } | undefined>('payload');
    if (earlier) {
      if (earlier.payload.quantity !== input.quantity) {
        const message = `delivery ${input.reference} was already recorded with quantity ${earlier.payload.quantity}`;
        throw conflict(message, 'reference');
      }
      return { replenished: false, inventory: current };
    }
    const [inventory] = await trx<InventoryRow>('inventory')
      .where({ sku: input.sku })
      .update({
        on_hand: trx.raw('on_hand + ?', [input.quantity]),
        replenishment_requested_at: trx.raw(
          'CASE WHEN on_hand + ? - reserved >= threshold THEN NULL ELSE replenishment_requested_at END',
          [input.quantity],
        ),
        updated_at: now,
      })
      .returning('*');
    await programEvent(
      trx,
      'inventory.replenished',
      dedupeKey,
      {
        sku: input.sku,
        quantity: input.quantity,
        reference: input.reference,
        actor: input.actor,
        onHand: inventory!.on_hand,
        available: inventory!.available,
      },
      now,
    );
    return { replenished: true, inventory: inventory! };
  });
}

/**
 * An admin correction of the count or the threshold. on_hand may not go below what is reserved
 * (a 422 naming `onHand`); a correction that leaves stock low requests replenishment.
 */
export async function setInventory(
  db: Db,
  input: { sku: string; onHand?: number | undefined; threshold?: number | undefined },
  now: Date = new Date(),
): Promise<InventoryRow> {
  return db.transaction(async (trx) => {
    const current = await lockInventory(trx, input.sku);
    if (input.onHand !== undefined && input.onHand < current.reserved) {
      throw invalid(
        `onHand ${input.onHand} is below the ${current.reserved} units reserved for redemptions.`,
        'onHand',
        `below the ${current.reserved} units reserved`,
      );
    }
    const onHand = input.onHand ?? current.on_hand;
    const threshold = input.threshold ?? current.threshold;
    if (onHand === current.on_hand && threshold === current.threshold) return current;
    const [updated] = await trx<InventoryRow>('inventory')
      .where({ sku: input.sku })
      .update({
        on_hand: onHand,
        threshold,
        updated_at: now,
      })
      .returning('*');
    return requestReplenishmentIfLow(trx, updated!, now);
  });
}

export async function getInventory(db: Db | Trx, sku: string): Promise<InventoryRow | undefined> {
  return db<InventoryRow>('inventory').where({ sku }).first();
}

/** Every SKU's stock, by SKU; `low`: only those below their threshold. */
export async function listInventory(
  db: Db,
  filter: { low?: boolean } = {},
): Promise<InventoryRow[]> {
  const query = db<InventoryRow>('inventory').orderBy('sku');
  return filter.low ? query.whereRaw('available < threshold') : query;
}

export async function getReservation(
  db: Db | Trx,
  redemptionId: string,
): Promise<ReservationRow | undefined> {
  return db<ReservationRow>('stock_reservations').where({ redemption_id: redemptionId }).first();
}
