/**
 * What the redemption detail shows around the redemption itself, from Postgres: the member, the
 * reward, and how it was fulfilled (the shipment from the steps the workflow recorded, the gift
 * card from the provider's answers and callbacks, the coupon code from the pool).
 */
import type { RewardKind } from '../domain/redemption';
import type { Db } from '../infra/db';
import type { RedemptionRow, StepRow } from './records';

export interface DetailMember {
  id: string;
  externalId: string;
  name: string | null;
  status: string;
  tier: string;
}

export interface DetailReward {
  id: string;
  name: string;
  kind: RewardKind;
  category: string;
  pointsCost: number;
  cashValue: number;
  currency: string;
  provider: string | null;
  denomination: number | null;
}

export interface Fulfilment {
  shipment: {
    sku: string;
    trackingNumber: string | null;
    requestedAt: string | null;
    shippedAt: string | null;
    deliveredAt: string | null;
  } | null;
  giftCard: {
    provider: string;
    cardId: string;
    code: string;
    denomination: number;
    currency: string;
    status: string;
    issuedAt: string;
  } | null;
  coupon: { code: string; assignedAt: string | null } | null;
}

interface MemberRow {
  id: string;
  external_id: string;
  name: string | null;
  status: string;
  tier: string;
}

interface RewardRow {
  id: string;
  name: string;
  kind: RewardKind;
  category: string;
  points_cost: number;
  cash_value: string | number;
  currency: string;
  provider: string | null;
  denomination: string | number | null;
}

interface GiftCardRow {
  redemption_id: string;
  provider: string;
  card_id: string;
  code: string;
  denomination: string | number;
  currency: string;
  status: string;
  issued_at: Date;
}

interface CouponRow {
  redemption_id: string;
  code: string;
  assigned_at: Date | null;
}

export async function redemptionContext(
  db: Db,
  row: RedemptionRow,
): Promise<{ member: DetailMember | null; reward: DetailReward | null }> {
  const [member, reward] = await Promise.all([
    db<MemberRow>('members')
      .where({ id: row.member_id })
      .first('id', 'external_id', 'name', 'status', 'tier'),
    db<RewardRow>('rewards')
      .where({ id: row.reward_id })
      .first(
        'id',
        'name',
        'kind',
        'category',
        'points_cost',
        'cash_value',
        'currency',
        'provider',
        'denomination',
      ),
  ]);
  return {
    member: member
      ? {
          id: member.id,
          externalId: member.external_id,
          name: member.name,
          status: member.status,
          tier: member.tier,
        }
      : null,
    reward: reward
      ? {
          id: reward.id,
          name: reward.name,
          kind: reward.kind,
          category: reward.category,
          pointsCost: reward.points_cost,
          cashValue: Number(reward.cash_value),
          currency: reward.currency,
          provider: reward.provider,
          denomination: reward.denomination === null ? null : Number(reward.denomination),
        }
      : null,
  };
}

const at = (steps: StepRow[], step: string) => steps.find((s) => s.step === step);

export async function fulfilmentOf(
  db: Db,
  row: RedemptionRow,
  steps: StepRow[],
  kind: RewardKind | null,
): Promise<Fulfilment> {
  const [card, coupon] = await Promise.all([
    kind === 'gift_card'
      ? db<GiftCardRow>('gift_cards').where({ redemption_id: row.id }).first()
      : undefined,
    kind === 'coupon'
      ? db<CouponRow>('coupon_codes').where({ redemption_id: row.id }).first('code', 'assigned_at')
      : undefined,
  ]);
  const requested = at(steps, 'shipment_requested');
  const shipped = at(steps, 'shipped');
  const substituted = at(steps, 'substituted');
  const sku = typeof substituted?.detail.sku === 'string' ? substituted.detail.sku : row.reward_id;
  const tracking = shipped?.detail.trackingNumber;
  return {
    shipment:
      kind === 'physical' && (requested || shipped)
        ? {
            sku,
            trackingNumber: typeof tracking === 'string' ? tracking : null,
            requestedAt: requested?.at.toISOString() ?? null,
            shippedAt: shipped?.at.toISOString() ?? null,
            deliveredAt: at(steps, 'delivered')?.at.toISOString() ?? null,
          }
        : null,
    giftCard: card
      ? {
          provider: card.provider,
          cardId: card.card_id,
          code: card.code,
          denomination: Number(card.denomination),
          currency: card.currency,
          status: card.status,
          issuedAt: card.issued_at.toISOString(),
        }
      : null,
    coupon: coupon
      ? { code: coupon.code, assignedAt: coupon.assigned_at?.toISOString() ?? null }
      : null,
  };
}
