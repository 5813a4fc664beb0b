/**
 * A physical redemption's history stays within issue #12's 30 events whatever the timing: here the
 * one that used to make 32, where the warehouse's answer to `createShipment` gets a workflow task
 * of its own (which does nothing) before the `shipped` callback brings the next. Real server, the
 * API's Update-with-Start, the warehouse shipping and delivering only when told.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import { workflowIds } from '../workflows/shared';
import { eventually, startTestContext, type TestContext } from './support/context';
import {
  awaitingShipment,
  deliveredSteps,
  redemptionProgram,
  shipAndDeliver,
  steps,
} from './support/redemptions';
import { publishProgram } from './support/ledger';

const maxEvents = 30;
/**
 * Since `redemption-return-window-v6` the run then waits out the return window (the lead's design
 * for #14: a return shows on the workflow): its patch marker and `TemporalChangeVersion` upsert,
 * the timer started and fired, and the task it wakes, which closes the run.
 */
const returnWindowEvents = 7;

describe('a physical redemption history', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext(
      'redemption-history',
      {},
      { partners: { warehouse: { autoDeliver: false } } },
    );
    // A short return window: the run waits it out after completing, then closes.
    await publishProgram(t, {
      ...redemptionProgram,
      redemption: { ...redemptionProgram.redemption!, returnWindow: '2 seconds' },
    });
  });
  after(async () => {
    await t.stop();
  });

  const historyOf = async (id: string) => {
    const handle = t.env.client.workflow.getHandle(workflowIds.redemption(id));
    return ((await handle.fetchHistory()).events ?? []).map(
      (e) => temporal.api.enums.v1.EventType[e.eventType ?? 0],
    );
  };

  it(`is at most ${maxEvents} events when the shipment's answer and the shipped callback come apart`, async () => {
    const { id } = await awaitingShipment(t, 100, 3);
    // The task the warehouse's answer woke has run (and completed) before the callback comes.
    const taskAfterAnswer = await eventually('the task after the warehouse answered', async () => {
      const types = await historyOf(id);
      const answered = types.indexOf('EVENT_TYPE_ACTIVITY_TASK_COMPLETED');
      if (answered < 0) return undefined;
      const completed = types.indexOf('EVENT_TYPE_WORKFLOW_TASK_COMPLETED', answered);
      return completed < 0 ? undefined : types.slice(answered + 1, completed + 1);
    });
    assert.deepEqual(taskAfterAnswer, [
      'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
      'EVENT_TYPE_WORKFLOW_TASK_STARTED',
      'EVENT_TYPE_WORKFLOW_TASK_COMPLETED',
    ]);

    const done = await shipAndDeliver(t, id);
    assert.deepEqual(steps(done), deliveredSteps);

    const types = await eventually('the run to close', async () => {
      const all = await historyOf(id);
      return all.at(-1) === 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED' ? all : undefined;
    });
    assert.ok(
      types.includes('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED'),
      'started with the update',
    );
    assert.ok(
      types.length <= maxEvents + returnWindowEvents,
      `${types.length} events:\n${types.join('\n')}`,
    );
    // Temporal UI still filters on the ending.
    const { searchAttributes } = await t.env.client.workflow
      .getHandle(workflowIds.redemption(id))
      .describe();
    assert.deepEqual(searchAttributes.RedemptionStatus, ['completed']);
  });
});
