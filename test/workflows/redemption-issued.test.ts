/**
 * The redemption workflow for rewards issued rather than shipped (gift cards, coupon codes), and
 * refusals before anything is held. Stubbed activities on the time-skipping test server
 * (test/support/workflow-harness.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { insufficientPoints, memberClosed, notFound } from '../../domain/refusal';
import { startWorkflowHarness, type WorkflowHarness } from '../support/workflow-harness';
import {
  answerLost,
  assertEnded,
  assertIds,
  couponPlan,
  effects,
  giftCardPlan,
  happyStubs,
  ids,
  inputsOf,
  physicalPlan,
  request,
  startRedemption,
  stepsGiven,
  undone,
  written,
} from './support';

const refuse = (type: string, message: string) => (): never => {
  throw ApplicationFailure.nonRetryable(message, type);
};

describe('redemption workflow: gift cards, coupons, refusals (stubbed activities, time skipping)', () => {
  let h: WorkflowHarness;
  before(async () => {
    h = await startWorkflowHarness();
  });
  after(() => h?.stop());

  it('gift card issued: the card shown, the points redeemed', () =>
    h.run(happyStubs(giftCardPlan()), async (run) => {
      const input = request({ rewardId: 'GIFT-25' });
      const handle = await startRedemption(run, input);
      const result = await handle.result();
      await assertEnded(run, handle, result, 'completed', ['points_held', 'issued', 'completed']);
      assert.deepEqual(result.giftCard, { cardId: 'card-1', code: 'GC-1234' });
      assert.deepEqual(result.timeline[1]?.detail, { cardId: 'card-1', floatBalance: 975 });
      assert.deepEqual(effects(run), [
        'planRedemption',
        'holdPoints',
        'issueGiftCard',
        'redeemPoints',
      ]);
      assert.deepEqual(inputsOf(run, 'issueGiftCard'), [
        { ...ids(input), provider: 'acme-cards', denomination: 25, currency: 'EUR' },
      ]);
      // The card is kept with its step; the hold becomes the redemption with the last one.
      assert.deepEqual(stepsGiven(run), [
        ['holdPoints', ['points_held']],
        ['issueGiftCard', ['issued']],
        ['redeemPoints', ['completed']],
      ]);
      assertIds(run, input);
    }));

  for (const [type, message] of [
    ['GiftCardDeclined', 'acme-cards declined the card: fraud check'],
    ['InsufficientFloat', "acme-cards's float cannot cover a 25 EUR card."],
  ] as const) {
    it(`gift card refused (${type}): not retried, voided by the key all the same, points released`, () =>
      h.run(happyStubs(giftCardPlan(), { issueGiftCard: refuse(type, message) }), async (run) => {
        const input = request({ rewardId: 'GIFT-25' });
        const handle = await startRedemption(run, input);
        const result = await handle.result();
        await assertEnded(run, handle, result, 'failed', ['points_held', 'failed']);
        assert.equal(result.failureType, type);
        assert.equal(result.reason, message);
        assert.equal(result.giftCard, null);
        // Nothing was issued, so nothing said voided.
        assert.deepEqual(undone(result), ['points released']);
        assert.deepEqual(effects(run), [
          'planRedemption',
          'holdPoints',
          'issueGiftCard',
          'voidGiftCard',
          'releasePoints',
        ]);
        assert.deepEqual(inputsOf(run, 'voidGiftCard'), inputsOf(run, 'issueGiftCard'));
      }));
  }

  it('gift card never answered (retries ran out): the card voided, then the points released', () =>
    h.run(
      happyStubs(giftCardPlan(), {
        issueGiftCard: () => {
          throw new Error('connect ECONNREFUSED');
        },
        voidGiftCard: () => ({ voided: true }),
      }),
      async (run) => {
        const input = request({ rewardId: 'GIFT-25' });
        const handle = await startRedemption(run, input);
        const result = await handle.result();
        // The card may have been kept with `issued` (2) before an answer was lost: 2 is not reused.
        await assertEnded(run, handle, result, 'failed', ['points_held', 'failed'], {
          seqs: [1, 3],
        });
        assert.equal(result.reason, 'connect ECONNREFUSED');
        assert.deepEqual(undone(result), ['gift card voided', 'points released']);
        assert.deepEqual(effects(run), [
          'planRedemption',
          'holdPoints',
          'issueGiftCard', // plan.partnerRetry: 3 attempts
          'issueGiftCard',
          'issueGiftCard',
          'voidGiftCard',
          'releasePoints',
        ]);
        assertIds(run, input);
      },
    ));

  it('gift card kept with its step, then every answer lost: the ending numbered after it', () =>
    h.run(
      happyStubs(giftCardPlan(), {
        issueGiftCard: () => {
          throw answerLost('activity StartToClose timeout');
        },
        voidGiftCard: () => ({ voided: true }),
      }),
      async (run) => {
        const input = request({ rewardId: 'GIFT-25' });
        const handle = await startRedemption(run, input);
        const result = await handle.result();
        assert.equal(result.status, 'failed');
        assert.deepEqual(undone(result), ['gift card voided', 'points released']);
        assert.deepEqual(
          result.timeline.map((s) => s.status),
          ['points_held', 'failed'],
        );
        // Postgres has the `issued` step the lost call wrote; the ending must not take its number
        // (written once by number, it would be dropped and the redemption left `issued`).
        const steps = written(run);
        assert.deepEqual(
          steps.map((s) => [s.step.status, s.status]),
          [
            ['points_held', 'points_held'],
            ['issued', 'issued'],
            ['failed', 'failed'],
          ],
        );
        assert.deepEqual(
          steps.map((s) => s.seq),
          [1, 2, 3],
        );
      },
    ));

  it('coupon: a code assigned and shown, the points redeemed', () =>
    h.run(happyStubs(couponPlan()), async (run) => {
      const input = request({ rewardId: 'COFFEE' });
      const handle = await startRedemption(run, input);
      const result = await handle.result();
      await assertEnded(run, handle, result, 'completed', ['points_held', 'issued', 'completed']);
      assert.deepEqual(result.coupon, { code: 'COFFEE-42' });
      assert.deepEqual(effects(run), [
        'planRedemption',
        'holdPoints',
        'assignCoupon',
        'redeemPoints',
      ]);
      assert.deepEqual(inputsOf(run, 'assignCoupon'), [{ ...ids(input), rewardId: 'COFFEE' }]);
      assert.deepEqual(result.timeline[1]?.detail, { coupon: 'COFFEE-42' });
      assert.deepEqual(stepsGiven(run).slice(1), [
        ['assignCoupon', ['issued']],
        ['redeemPoints', ['completed']],
      ]);
    }));

  it('coupon: no codes left, failed, the points released', () =>
    h.run(
      happyStubs(couponPlan(), { assignCoupon: () => ({ status: 'out_of_stock' }) }),
      async (run) => {
        const handle = await startRedemption(run, request({ rewardId: 'COFFEE' }));
        const result = await handle.result();
        await assertEnded(run, handle, result, 'failed', ['points_held', 'failed']);
        assert.equal(result.failureType, 'OutOfStock');
        assert.equal(result.reason, 'No codes left for COFFEE.');
        assert.deepEqual(undone(result), ['points released']);
        assert.deepEqual(effects(run), [
          'planRedemption',
          'holdPoints',
          'assignCoupon',
          'releasePoints',
        ]);
      },
    ));

  it('not eligible: failed at the plan, nothing held, nothing to undo', () =>
    h.run(
      happyStubs(physicalPlan(), {
        planRedemption: refuse('NotEligible', 'MUG-RED is for gold members and above.'),
      }),
      async (run) => {
        const handle = await startRedemption(run, request());
        const result = await handle.result();
        await assertEnded(run, handle, result, 'failed', ['failed']);
        assert.equal(result.failureType, 'NotEligible');
        assert.equal(result.plan, null);
        assert.deepEqual(undone(result), []);
        assert.deepEqual(effects(run), ['planRedemption']);
      },
    ));

  // The ledger says no in domain words; the activity fails for good, typed by the refusal's kind.
  for (const [kind, refusal, reason] of [
    [
      'InsufficientPoints',
      () =>
        insufficientPoints(
          'Not enough points: 500 asked, 120 available.',
          'amount',
          'exceeds the 120 points available',
        ),
      () => 'Not enough points: 500 asked, 120 available.',
    ],
    [
      'MemberClosed',
      (memberId: string) => memberClosed(memberId),
      (memberId: string) => `Member ${memberId} is closed.`,
    ],
  ] as const) {
    it(`the hold refused (${kind}): not retried, failed, nothing to undo`, () =>
      h.run(
        happyStubs(physicalPlan(), {
          holdPoints: (input) => {
            throw refusal(input.memberId);
          },
        }),
        async (run) => {
          const input = request();
          const handle = await startRedemption(run, input);
          const result = await handle.result();
          await assertEnded(run, handle, result, 'failed', ['failed']);
          assert.equal(result.failureType, kind);
          assert.equal(result.reason, reason(input.memberId));
          assert.deepEqual(undone(result), []);
          assert.deepEqual(effects(run), ['planRedemption', 'holdPoints']); // once: not retried
        },
      ));
  }

  it('the catalog refuses the reservation (NotFound): not retried, the points released', () =>
    h.run(
      happyStubs(physicalPlan(), {
        reserveStock: (input) => {
          throw notFound('reward', 'sku', input.sku);
        },
      }),
      async (run) => {
        const input = request();
        const handle = await startRedemption(run, input);
        const result = await handle.result();
        await assertEnded(run, handle, result, 'failed', ['points_held', 'failed']);
        assert.equal(result.failureType, 'NotFound');
        assert.equal(result.reason, "No reward with sku 'MUG-RED'.");
        assert.deepEqual(undone(result), ['points released']);
        assert.deepEqual(effects(run), [
          'planRedemption',
          'holdPoints',
          'reserveStock',
          'releasePoints',
        ]);
        assertIds(run, input);
      },
    ));
});
