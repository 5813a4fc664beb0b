/**
 * The redemption workflow out of stock: refused, backordered (stock arrives, or never does, or the
 * member cancels meanwhile), or a substitute by the reward's policy (the substitution child
 * workflow: taken at once, approved by ops, timed out, or cancelled). Stubbed activities on the
 * time-skipping test server (test/support/workflow-harness.ts): days of waiting in milliseconds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  startWorkflowHarness,
  until,
  type ActivityStubs,
  type WorkflowHarness,
} from '../support/workflow-harness';
import type { RedemptionPlan } from '../../domain/redemption';
import { decideSubstitutionUpdate, workflowIds } from '../../workflows/shared';
import {
  assertEnded,
  assertIds,
  cancel,
  day,
  effects,
  happyStubs,
  physicalPlan,
  reached,
  request,
  shipment,
  startRedemption,
  stateOf,
  step,
  undone,
} from './support';

const outOfStock = { status: 'out_of_stock', available: 0 } as const;
const reserved = { status: 'reserved', available: 4 } as const;
const blueMug = { sku: 'MUG-BLUE', name: 'Blue mug', cashValue: 12, pointsCost: 480 };

/** MUG-RED is out of stock (until `arrived()`), MUG-BLUE is not; the substitution records work. */
function stockStubs(plan: RedemptionPlan, arrived = () => false): ActivityStubs {
  return happyStubs(plan, {
    reserveStock: (input) => (input.sku === 'MUG-BLUE' || arrived() ? reserved : outOfStock),
    findCandidates: () => [blueMug],
    openSubstitution: () => undefined,
    remindSubstitution: () => undefined,
    closeSubstitution: () => undefined,
  });
}

const withSubstitution = (mode: 'auto' | 'approval') =>
  physicalPlan({ substitution: { mode, deadlineMs: 2 * day, reminderMs: day } });

describe('redemption workflow: out of stock (stubbed activities, time skipping)', () => {
  let h: WorkflowHarness;
  before(async () => {
    h = await startWorkflowHarness();
  });
  after(() => h?.stop());

  it('out of stock, no substitute, no backorder: failed, the points released', () =>
    h.run(stockStubs(physicalPlan()), async (run) => {
      const input = request();
      const handle = await startRedemption(run, input);
      const result = await handle.result();
      await assertEnded(run, handle, result, 'failed', ['points_held', 'failed']);
      assert.equal(result.failureType, 'OutOfStock');
      assert.equal(result.reason, 'MUG-RED is out of stock.');
      assert.deepEqual(undone(result), ['points released']);
      assert.deepEqual(effects(run), [
        'planRedemption',
        'holdPoints',
        'reserveStock',
        'releasePoints',
      ]);
      assertIds(run, input);
    }));

  it('backordered: checked every day, reserved when the stock arrives, then shipped', () => {
    let arrived = false;
    const plan = physicalPlan({ backorder: { checkEveryMs: day, giveUpAfterMs: 7 * day } });
    return h.run(
      stockStubs(plan, () => arrived),
      async (run) => {
        const handle = await startRedemption(run, request({ backorder: true }));
        const backordered = await step(handle, 'backordered');
        await h.env.sleep(2.5 * day); // checked on days 1 and 2: still none
        await until(
          'the check of day 2',
          () => run.inputs('reserveStock').length === 3 || undefined,
        );
        assert.equal((await stateOf(handle)).status, 'backordered');
        arrived = true;
        await h.env.sleep(day);
        const stock = await step(handle, 'stock_reserved');
        assert.ok(stock.at >= backordered.at + 3 * day, 'reserved on the third day');
        assert.deepEqual(stock.detail, { sku: 'MUG-RED', quantity: 1 });

        await reached(handle, 'shipment_requested');
        await shipment(handle, 'delivered');
        const result = await handle.result();
        await assertEnded(run, handle, result, 'completed', [
          'points_held',
          'backordered',
          'stock_reserved',
          'shipment_requested',
          'shipped',
          'delivered',
          'completed',
        ]);
        const reserves = run.inputs('reserveStock').map((r) => r.sku);
        assert.deepEqual(reserves, ['MUG-RED', 'MUG-RED', 'MUG-RED', 'MUG-RED']);
      },
    );
  });

  it('backordered for longer than the policy allows: failed, the points released', () =>
    h.run(stockStubs(physicalPlan()), async (run) => {
      const handle = await startRedemption(run, request({ backorder: true }));
      const result = await handle.result(); // 3 days of daily checks
      await assertEnded(run, handle, result, 'failed', ['points_held', 'backordered', 'failed']);
      assert.equal(result.failureType, 'OutOfStock');
      assert.equal(result.reason, 'MUG-RED is out of stock for longer than the backorder allows.');
      assert.equal(run.inputs('reserveStock').length, 4); // at once, then on days 1, 2 and 3
      assert.deepEqual(undone(result), ['points released']);
      assert.deepEqual(effects(run).slice(-1), ['releasePoints']);
    }));

  it('cancelled while backordered: the wait ends at once, the points released', () =>
    h.run(stockStubs(physicalPlan()), async (run) => {
      const handle = await startRedemption(run, request({ backorder: true }));
      await reached(handle, 'backordered');
      const answered = await cancel(handle);
      assert.equal(answered.status, 'cancelled');
      const result = await handle.result();
      await assertEnded(run, handle, result, 'cancelled', [
        'points_held',
        'backordered',
        'cancelled',
      ]);
      assert.deepEqual(undone(result), ['points released']); // no stock was reserved
      assert.deepEqual(effects(run), [
        'planRedemption',
        'holdPoints',
        'reserveStock',
        'releasePoints',
      ]);
    }));

  it('substitution by policy (auto): the closest candidate reserved and shipped instead', () =>
    h.run(stockStubs(withSubstitution('auto')), async (run) => {
      const input = request();
      const handle = await startRedemption(run, input);
      await reached(handle, 'shipment_requested');
      await shipment(handle, 'delivered');
      const result = await handle.result();
      await assertEnded(run, handle, result, 'completed', [
        'points_held',
        'substitution_pending',
        'substituted',
        'stock_reserved',
        'shipment_requested',
        'shipped',
        'delivered',
        'completed',
      ]);
      assert.deepEqual(result.timeline[2]?.detail, {
        sku: 'MUG-BLUE',
        by: 'policy',
        reason: 'closest in value of 1 candidate(s)',
      });
      assert.deepEqual(effects(run).slice(0, 8), [
        'planRedemption',
        'holdPoints',
        'reserveStock',
        'findCandidates', // the child workflow
        'openSubstitution',
        'closeSubstitution',
        'reserveStock',
        'createShipment',
      ]);
      assert.deepEqual(run.inputs('createShipment')[0]?.sku, 'MUG-BLUE');
      assertIds(run, input);
    }));

  it('substitute taken, and out of stock too: failed, the points released', () =>
    h.run(
      happyStubs(withSubstitution('auto'), {
        reserveStock: () => outOfStock,
        findCandidates: () => [blueMug],
        openSubstitution: () => undefined,
        closeSubstitution: () => undefined,
      }),
      async (run) => {
        const handle = await startRedemption(run, request());
        const result = await handle.result();
        await assertEnded(run, handle, result, 'failed', [
          'points_held',
          'substitution_pending',
          'substituted',
          'failed',
        ]);
        assert.equal(result.reason, 'MUG-RED is out of stock.');
        assert.deepEqual(undone(result), ['points released']);
        assert.deepEqual(
          run.inputs('reserveStock').map((r) => r.sku),
          ['MUG-RED', 'MUG-BLUE'],
        );
        assert.deepEqual(effects(run).slice(-2), ['reserveStock', 'releasePoints']);
      },
    ));

  it('substitution asked of ops: approved, the substitute reserved and shipped', () =>
    h.run(stockStubs(withSubstitution('approval')), async (run) => {
      const input = request();
      const handle = await startRedemption(run, input);
      await reached(handle, 'substitution_pending');
      const child = run.client.workflow.getHandle(workflowIds.substitution(input.redemptionId));
      const decided = await child.executeUpdate(decideSubstitutionUpdate, {
        args: [{ approve: true, sku: 'MUG-BLUE', actor: 'ops:bob', reason: 'same price' }],
      });
      assert.equal(decided.outcome?.decision, 'approved');
      await reached(handle, 'shipment_requested');
      await shipment(handle, 'delivered');

      const result = await handle.result();
      await assertEnded(run, handle, result, 'completed', [
        'points_held',
        'substitution_pending',
        'substituted',
        'stock_reserved',
        'shipment_requested',
        'shipped',
        'delivered',
        'completed',
      ]);
      assert.deepEqual(result.timeline[2]?.detail, {
        sku: 'MUG-BLUE',
        by: 'ops:bob',
        reason: 'same price',
      });
      assert.deepEqual(
        run.inputs('reserveStock').map((r) => r.sku),
        ['MUG-RED', 'MUG-BLUE'],
      );
      assert.deepEqual(run.inputs('closeSubstitution')[0]?.by, 'ops:bob');
      assert.equal(run.inputs('remindSubstitution').length, 0); // decided before the reminder
      assert.equal(run.inputs('createShipment')[0]?.sku, 'MUG-BLUE');
    }));

  it('substitution asked of ops, never answered: reminded, timed out, failed', () =>
    h.run(stockStubs(withSubstitution('approval')), async (run) => {
      const input = request();
      const handle = await startRedemption(run, input);
      const result = await handle.result(); // a day to the reminder, a day to the deadline
      await assertEnded(run, handle, result, 'failed', [
        'points_held',
        'substitution_pending',
        'substitution_declined',
        'failed',
      ]);
      assert.deepEqual(result.timeline[2]?.detail, {
        decision: 'timed_out',
        by: 'deadline',
        reason: 'no decision in time',
      });
      assert.equal(result.failureType, 'OutOfStock');
      assert.deepEqual(effects(run), [
        'planRedemption',
        'holdPoints',
        'reserveStock',
        'findCandidates',
        'openSubstitution',
        'remindSubstitution',
        'closeSubstitution',
        'releasePoints',
      ]);
      const [closed] = run.inputs('closeSubstitution');
      assert.equal(closed?.status, 'timed_out');
      const [opened] = run.inputs('openSubstitution');
      assert.ok(closed.at >= opened!.at + 2 * day, 'closed at the deadline, 2 days on');
    }));

  it('cancelled while ops decide: the question closed, then the points released', () =>
    h.run(stockStubs(withSubstitution('approval')), async (run) => {
      const handle = await startRedemption(run, request());
      await reached(handle, 'substitution_pending');
      await cancel(handle);
      const result = await handle.result();
      await assertEnded(run, handle, result, 'cancelled', [
        'points_held',
        'substitution_pending',
        'cancelled',
      ]);
      assert.deepEqual(undone(result), ['points released']);
      assert.deepEqual(effects(run).slice(-2), ['closeSubstitution', 'releasePoints']);
      const [closed] = run.inputs('closeSubstitution');
      assert.equal(closed?.status, 'rejected');
      assert.equal(closed?.by, 'cancellation');
    }));
});
