/**
 * The redemption workflow's shipping branches, each in well under a second: the real workflow on
 * Temporal's time-skipping test server, the activities stubbed (test/support/workflow-harness.ts).
 * Stock and substitution: redemption-stock.test.ts; gift cards, coupons and refusals at the start:
 * redemption-issued.test.ts. The same workflow against real Postgres and partners:
 * test/redemptions.test.ts and test/redemption-faults.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { startWorkflowHarness, type WorkflowHarness } from '../support/workflow-harness';
import {
  assertEnded,
  assertIds,
  assertTooLate,
  cancel,
  day,
  effects,
  happyStubs,
  hour,
  ids,
  inputsOf,
  physicalPlan,
  reached,
  request,
  shipment,
  startRedemption,
  stateOf,
  step,
  stepsGiven,
  undone,
} from './support';

const upToShipment = ['planRedemption', 'holdPoints', 'reserveStock', 'createShipment'];
const requested = ['points_held', 'stock_reserved', 'shipment_requested'] as const;

describe('redemption workflow: shipping (stubbed activities, time skipping)', () => {
  let h: WorkflowHarness;
  before(async () => {
    h = await startWorkflowHarness();
  });
  after(() => h?.stop());

  it('happy path: held, reserved, shipped with the tier priority, delivered, redeemed', () =>
    h.run(happyStubs(physicalPlan()), async (run) => {
      const input = request();
      const handle = await startRedemption(run, input);
      await reached(handle, 'shipment_requested');
      await shipment(handle, 'shipped');
      const shipped = await reached(handle, 'shipped');
      assert.deepEqual(shipped.shipment, { trackingNumber: `TRK-${input.redemptionId}` });
      await assertTooLate(handle, 'shipped'); // the validator refuses: nothing runs

      await shipment(handle, 'delivered');
      const result = await handle.result();
      await assertEnded(run, handle, result, 'completed', [
        ...requested,
        'shipped',
        'delivered',
        'completed',
      ]);
      assert.deepEqual(effects(run), [...upToShipment, 'shipStock', 'redeemPoints']);
      assert.deepEqual(run.inputs('createShipment'), [
        { ...ids(input), sku: 'MUG-RED', quantity: 1, priority: 2 },
      ]);
      assert.deepEqual(inputsOf(run, 'holdPoints'), [
        { ...ids(input), points: 500, actor: input.actor },
      ]);
      // Each step written by the effect it describes, in its transaction.
      assert.deepEqual(stepsGiven(run), [
        ['holdPoints', ['points_held']],
        ['reserveStock', ['stock_reserved', 'shipment_requested']],
        ['shipStock', ['shipped']],
        ['redeemPoints', ['delivered', 'completed']],
      ]);
      // The Postgres steps run inside the workflow task; only the partner is a real activity.
      assert.deepEqual(
        run.calls.filter((c) => !c.local).map((c) => c.name),
        ['createShipment'],
      );
      assert.deepEqual(result.timeline[0]?.detail, { points: 500, tier: 'gold', priority: 2 });
      assert.equal(result.slaBreached, false);
      assertIds(run, input);
    }));

  it('cancel before the parcel leaves: dropped at the warehouse, stock then points released', () =>
    h.run(happyStubs(physicalPlan()), async (run) => {
      const input = request();
      const handle = await startRedemption(run, input);
      await reached(handle, 'shipment_requested');
      const answered = await cancel(handle, 'wrong size');
      assert.equal(answered.status, 'cancelled');

      const result = await handle.result();
      await assertEnded(run, handle, result, 'cancelled', [...requested, 'cancelled']);
      assert.equal(result.reason, 'cancelled by ops:alice: wrong size');
      assert.equal(result.failureType, 'Cancelled');
      // The warehouse dropped it just now: not undone twice.
      assert.deepEqual(undone(result), ['stock released', 'points released']);
      assert.deepEqual(effects(run), [
        ...upToShipment,
        'cancelShipment',
        'releaseStock',
        'releasePoints',
      ]);
      assertIds(run, input);
    }));

  it('cancel vs ship: the parcel left meanwhile, the cancel is too late and it goes on', () =>
    h.run(
      happyStubs(physicalPlan(), {
        cancelShipment: () => ({ cancelled: false, found: true }),
      }),
      async (run) => {
        const input = request();
        const handle = await startRedemption(run, input);
        await reached(handle, 'shipment_requested');
        await assertTooLate(handle, 'shipment requested');
        await reached(handle, 'shipped');
        await shipment(handle, 'delivered');

        const result = await handle.result();
        await assertEnded(run, handle, result, 'completed', [
          ...requested,
          'shipped',
          'delivered',
          'completed',
        ]);
        assert.deepEqual(effects(run), [
          ...upToShipment,
          'cancelShipment',
          'shipStock',
          'redeemPoints',
        ]);
        assertIds(run, input);
      },
    ));

  it('SLA breached: the tier credit once, then delivered and redeemed', () =>
    h.run(happyStubs(physicalPlan()), async (run) => {
      const input = request();
      const handle = await startRedemption(run, input);
      await reached(handle, 'shipment_requested');
      await shipment(handle, 'shipped');
      const shippedAt = (await step(handle, 'shipped')).at;

      await h.env.sleep(3 * day + hour); // past the 3-day SLA
      const breached = await step(handle, 'sla_breached');
      assert.ok(breached.at >= shippedAt + 3 * day, 'breached by the workflow clock, 3 days on');
      assert.deepEqual(breached.detail, { slaMs: 3 * day, credited: 150 });
      assert.equal((await stateOf(handle)).slaBreached, true);
      await h.env.sleep(5 * day); // late, not lost: no second credit
      await shipment(handle, 'delivered');

      const result = await handle.result();
      await assertEnded(run, handle, result, 'completed', [
        ...requested,
        'shipped',
        'sla_breached',
        'delivered',
        'completed',
      ]);
      assert.deepEqual(inputsOf(run, 'creditServiceRecovery'), [{ ...ids(input), tier: 'gold' }]);
      assert.deepEqual(stepsGiven(run)[3], ['creditServiceRecovery', ['sla_breached']]);
      assert.deepEqual(effects(run), [
        ...upToShipment,
        'shipStock',
        'creditServiceRecovery',
        'redeemPoints',
      ]);
    }));

  it('lost: not delivered within lostAfter, the points given back (the stock has left)', () =>
    h.run(happyStubs(physicalPlan()), async (run) => {
      const input = request();
      const handle = await startRedemption(run, input);
      await reached(handle, 'shipment_requested');
      await shipment(handle, 'shipped');
      const result = await handle.result(); // skips the SLA, then lostAfter

      await assertEnded(run, handle, result, 'lost', [
        ...requested,
        'shipped',
        'sla_breached',
        'lost',
      ]);
      const at = (status: string) => result.timeline.find((s) => s.status === status)!.at;
      assert.ok(at('lost') - at('shipped') >= 14 * day, 'lost 14 days after shipping');
      assert.equal(result.failureType, 'Lost');
      assert.equal(
        result.reason,
        `shipped (tracking TRK-${input.redemptionId}) and not delivered within 14 days: lost, the points are given back`,
      );
      assert.deepEqual(undone(result), ['points released']);
      assert.deepEqual(effects(run), [
        ...upToShipment,
        'shipStock',
        'creditServiceRecovery',
        'releasePoints',
      ]);
    }));

  it('lost with an SLA as long as lostAfter: no credit, the points given back', () =>
    h.run(happyStubs(physicalPlan({ deliverySlaMs: 14 * day })), async (run) => {
      const handle = await startRedemption(run, request());
      await reached(handle, 'shipment_requested');
      await shipment(handle, 'shipped');
      const result = await handle.result();
      await assertEnded(run, handle, result, 'lost', [...requested, 'shipped', 'lost']);
      assert.equal(result.slaBreached, false);
      assert.deepEqual(effects(run), [...upToShipment, 'shipStock', 'releasePoints']);
    }));

  it('the warehouse refuses the shipment: not retried, stock then points released', () =>
    h.run(
      happyStubs(physicalPlan(), {
        createShipment: () => {
          throw ApplicationFailure.nonRetryable('no such SKU: MUG-RED', 'PartnerRejected');
        },
        cancelShipment: () => ({ cancelled: true, found: false }),
      }),
      async (run) => {
        const input = request();
        const handle = await startRedemption(run, input);
        const result = await handle.result();
        await assertEnded(run, handle, result, 'failed', [...requested, 'failed']);
        assert.equal(result.failureType, 'PartnerRejected');
        assert.equal(result.reason, 'no such SKU: MUG-RED');
        // Asked to drop it all the same (it never had it: nothing said undone).
        assert.deepEqual(undone(result), ['stock released', 'points released']);
        assert.deepEqual(effects(run), [
          ...upToShipment,
          'cancelShipment',
          'releaseStock',
          'releasePoints',
        ]);
        assertIds(run, input);
      },
    ));

  it('no answer from the warehouse (retries ran out): asked to drop it before anything is given back', () =>
    h.run(
      happyStubs(physicalPlan(), {
        createShipment: () => {
          throw new Error('socket hang up');
        },
        cancelShipment: () => ({ cancelled: true, found: false }),
      }),
      async (run) => {
        const input = request();
        const handle = await startRedemption(run, input);
        const result = await handle.result();
        await assertEnded(run, handle, result, 'failed', [
          ...requested,
          'shipment_unconfirmed',
          'failed',
        ]);
        assert.equal(result.reason, 'socket hang up');
        assert.deepEqual(result.timeline.at(-2)?.detail, { reason: 'socket hang up' });
        assert.deepEqual(undone(result), ['stock released', 'points released']);
        assert.deepEqual(effects(run), [
          ...upToShipment,
          'createShipment', // plan.partnerRetry: 3 attempts
          'createShipment',
          'cancelShipment', // did it take it? no
          'cancelShipment', // the undo list's, harmless
          'releaseStock',
          'releasePoints',
        ]);
        assertIds(run, input);
      },
    ));

  it('no answer from the warehouse, which had it and it has left: it goes on as shipped', () =>
    h.run(
      happyStubs(physicalPlan(), {
        createShipment: () => {
          throw new Error('socket hang up');
        },
        cancelShipment: () => ({ cancelled: false, found: true }),
      }),
      async (run) => {
        const handle = await startRedemption(run, request());
        await h.env.sleep(hour); // the retries' backoff, skipped
        await reached(handle, 'shipped');
        await assertTooLate(handle, 'shipped');
        await shipment(handle, 'delivered', 'TRK-LATE');

        const result = await handle.result();
        await assertEnded(run, handle, result, 'completed', [
          ...requested,
          'shipment_unconfirmed',
          'shipment_confirmed',
          'shipped',
          'delivered',
          'completed',
        ]);
        assert.deepEqual(result.shipment, { trackingNumber: 'TRK-LATE' });
        assert.deepEqual(effects(run), [
          ...upToShipment,
          'createShipment',
          'createShipment',
          'cancelShipment',
          'shipStock',
          'redeemPoints',
        ]);
      },
    ));

  it('cancelled in Temporal before the parcel leaves: everything undone, the workflow cancelled', () =>
    h.run(happyStubs(physicalPlan()), async (run) => {
      const handle = await startRedemption(run, request());
      await reached(handle, 'shipment_requested');
      await handle.cancel();
      await assert.rejects(handle.result(), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
        return true;
      });
      const state = await stateOf(handle);
      await assertEnded(run, handle, state, 'cancelled', [...requested, 'cancelled'], {
        replayed: true,
      });
      assert.equal(state.reason, 'cancelled: the workflow was cancelled in Temporal');
      assert.deepEqual(undone(state), ['shipment cancelled', 'stock released', 'points released']);
      assert.deepEqual(effects(run), [
        ...upToShipment,
        'cancelShipment',
        'releaseStock',
        'releasePoints',
      ]);
    }));

  it('cancelled in Temporal once shipped: nothing undone, the hold left for ops', () =>
    h.run(happyStubs(physicalPlan()), async (run) => {
      const handle = await startRedemption(run, request());
      await reached(handle, 'shipment_requested');
      await shipment(handle, 'shipped');
      await reached(handle, 'shipped');
      await handle.cancel();
      await assert.rejects(handle.result(), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
        return true;
      });
      const state = await stateOf(handle);
      assert.equal(state.status, 'shipped');
      assert.deepEqual(
        state.timeline.map((s) => s.status),
        [...requested, 'shipped'],
      );
      assert.deepEqual(effects(run), [...upToShipment, 'shipStock']);
    }));
});
