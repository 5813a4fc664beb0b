/**
 * A parcel delivered after its redemption ended `lost`: the points were given back and the member
 * has the parcel too. The workflow has closed, so nothing acts on the warehouse's word: it is
 * recorded once (a `delivered_after_lost` step, the redemption staying `lost`, and a
 * `redemption.delivered_after_lost` event for ops), counted by the API's metrics and alerted on
 * (`LoyaltyRedemptionDeliveredAfterLost`). Ops decide what to recover from the member.
 */
import type { Trx } from '../infra/db';
import { withSteps } from './records';

export const lateDeliveryStep = 'delivered_after_lost' as const;

/** Records the late delivery once; answers whether this call did (false: not lost, or done). */
export async function recordDeliveredAfterLost(
  trx: Trx,
  input: { redemptionId: string; deliveredAt: Date; trackingNumber?: string | undefined },
): Promise<boolean> {
  const row = await trx<{ id: string; member_id: string; status: string }>('redemptions')
    .where({ id: input.redemptionId })
    .forUpdate()
    .first('id', 'member_id', 'status');
  if (row?.status !== 'lost') return false;
  const seen: unknown = await trx('redemption_steps')
    .where({ redemption_id: row.id, step: lateDeliveryStep })
    .first('seq');
  if (seen) return false;
  const { max } = (await trx('redemption_steps')
    .where({ redemption_id: row.id })
    .max('seq as max')
    .first()) as { max: number | null };
  const { written } = await withSteps(
    trx,
    () => Promise.resolve(null),
    () => [
      {
        redemptionId: row.id,
        memberId: row.member_id,
        seq: (max ?? 0) + 1,
        step: {
          status: lateDeliveryStep,
          at: input.deliveredAt.getTime(),
          detail: {
            trackingNumber: input.trackingNumber ?? null,
            reason:
              'delivered after the redemption ended lost: the member has the parcel and the points given back',
          },
        },
        status: null,
        reason: null,
      },
    ],
  );
  return written.length > 0;
}
