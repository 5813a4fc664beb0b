/**
 * Where a physical redemption ships, as the request says it (optional): its country for the
 * unusual-country detector, and its address as a key that spelling and case do not change, for
 * counting the members that ship to one address (linked accounts).
 */
import type { Db, Trx } from '../infra/db';
import type { ShipTo } from '../domain/redemption';

/** Lower case, letters and digits only, runs of anything else as one space. */
export const addressKey = (s: ShipTo): string =>
  `${s.country}:${s.address
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()}`;

/** Members who asked for redemptions to this address (this member included). */
export async function membersAtAddress(
  db: Db | Trx,
  key: string,
  memberId: string,
): Promise<number> {
  const { rows } = await db.raw<{ rows: { n: number }[] }>(
    `SELECT count(DISTINCT member_id)::int AS n FROM redemptions
     WHERE ship_address_key = ? AND member_id <> ?`,
    [key, memberId],
  );
  return rows[0]!.n + 1;
}
