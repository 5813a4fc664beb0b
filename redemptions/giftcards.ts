/**
 * Gift cards in Postgres: the card issued for a redemption and its status as the provider's
 * callbacks report it, and each provider's float as its answers report it. A float under the threshold writes one `giftcard.float_low` event per
 * episode (until it is back above), not one per card.
 */
import type { Db, Trx } from '../infra/db';

export interface FloatRow {
  provider: string;
  balance: string;
  currency: string | null;
  low_since: Date | null;
  updated_at: Date;
}

export async function saveGiftCard(
  db: Db,
  card: {
    redemptionId: string;
    provider: string;
    cardId: string;
    code: string;
    denomination: number;
    currency: string;
  },
): Promise<void> {
  await db('gift_cards')
    .insert({
      redemption_id: card.redemptionId,
      provider: card.provider,
      card_id: card.cardId,
      code: card.code,
      denomination: card.denomination,
      currency: card.currency,
    })
    .onConflict('redemption_id')
    .ignore();
}

/** A card voided at the provider is no longer the redemption's. */
export async function forgetGiftCard(db: Db, redemptionId: string): Promise<void> {
  await db('gift_cards').where({ redemption_id: redemptionId }).delete();
}

export type CardStatus = 'issued' | 'activated' | 'redeemed' | 'voided';

/**
 * Records a card's status as its provider reports it (a signed callback); a report older than the
 * status recorded changes nothing, so reports may arrive in any order. Answers whether the card
 * is known.
 */
export async function recordCardStatus(
  db: Db | Trx,
  report: { cardId: string; status: CardStatus; at: Date },
): Promise<boolean> {
  const updated = await db('gift_cards')
    .where({ card_id: report.cardId })
    .andWhere((q) => void q.whereNull('status_at').orWhere('status_at', '<', report.at))
    .update({ status: report.status, status_at: report.at });
  if (updated > 0) return true;
  return (await db('gift_cards').where({ card_id: report.cardId }).first('card_id')) !== undefined;
}

/**
 * Records a provider's float balance as of `at`; an older report never overwrites a newer one.
 * Returns whether this report started a low-float episode.
 */
export async function recordFloat(
  db: Db,
  report: { provider: string; balance: number; currency: string | null; threshold: number },
  at: Date = new Date(),
): Promise<{ becameLow: boolean }> {
  return db.transaction(async (trx) => {
    const low = report.balance < report.threshold;
    const { rows } = await trx.raw<{ rows: { low_since: Date | null }[] }>(
      `INSERT INTO giftcard_floats AS f (provider, balance, currency, low_since, updated_at)
       VALUES (:provider, :balance, :currency, CASE WHEN :low THEN :at::timestamptz END, :at)
       ON CONFLICT (provider) DO UPDATE SET balance = excluded.balance,
         currency = coalesce(excluded.currency, f.currency), updated_at = excluded.updated_at,
         low_since = CASE WHEN :low THEN coalesce(f.low_since, excluded.updated_at) END
       WHERE f.updated_at <= excluded.updated_at
       RETURNING low_since`,
      { ...report, low, at },
    );
    const row = rows[0];
    const becameLow = Boolean(row && low && row.low_since?.getTime() === at.getTime());
    if (becameLow) {
      await trx('program_events')
        .insert({
          type: 'giftcard.float_low',
          dedupe_key: `giftcard.float_low:${report.provider}:${at.toISOString()}`,
          payload: {
            provider: report.provider,
            balance: report.balance,
            currency: report.currency,
            threshold: report.threshold,
          },
          occurred_at: at,
        })
        .onConflict('dedupe_key')
        .ignore();
    }
    return { becameLow };
  });
}

export async function listFloats(db: Db): Promise<FloatRow[]> {
  return db<FloatRow>('giftcard_floats').orderBy('provider');
}
