/**
 * Domain refusals (issue #12): the ledger and the catalog refuse in domain words; the API maps
 * the kind to a problem answer in one table, and an activity turns it into a non-retryable
 * failure typed by the kind. Through the real API, Postgres and Temporal server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { createInventoryActivities } from '../activities/inventory';
import { asActivityFailure, refusalsAsFailures } from '../activities/refusals';
import { problemOf, refusalProblems } from '../api/errors';
import { problemTypes } from '../api/problem';
import { invalid, Refusal, RefusalKind, refusalKinds } from '../domain/refusal';
import { workflowIds } from '../workflows/shared';
import { startTestContext, type ApiResponse, type TestContext } from './support/context';
import { balanceOf, enrol, post, publishProgram, purchase } from './support/ledger';
import {
  createReward,
  memberWithPoints,
  redeem,
  redemptionProgram,
  waitForStatus,
} from './support/redemptions';

describe('refusals: the one table to HTTP', () => {
  it('maps every kind, and only kinds, to a 4xx problem type', () => {
    assert.deepEqual(Object.keys(refusalProblems).sort(), [...refusalKinds].sort());
    const answered = Object.fromEntries(
      refusalKinds.map((kind) => {
        const problem = problemOf(new Refusal(kind, 'no', [{ field: 'f', message: 'm' }]));
        return [kind, `${problem.status} ${problem.type}`];
      }),
    );
    assert.deepEqual(answered, {
      Invalid: '422 validation',
      NotFound: '404 not-found',
      Conflict: '409 conflict',
      MemberNotFound: '404 not-found',
      MemberClosed: '409 conflict',
      MemberSuspended: '409 conflict',
      InsufficientPoints: '422 validation',
      BudgetExhausted: '422 budget-exhausted',
    });
    for (const type of Object.values(refusalProblems)) {
      const { status } = problemTypes[type];
      assert.ok(status >= 400 && status < 500, `${type} is a client error`);
    }
  });

  it('renders the message, the fields and the details; no fields, no errors member', () => {
    const refusal = new Refusal(RefusalKind.Conflict, 'Taken.', [{ field: 'id', message: 'x' }], {
      reason: 'Because',
    });
    assert.deepEqual(problemOf(refusal).toJSON('/things/1', 'req-1'), {
      type: '/problems/conflict',
      title: 'Conflict',
      status: 409,
      detail: 'Taken.',
      instance: '/things/1',
      requestId: 'req-1',
      errors: [{ field: 'id', message: 'x' }],
      reason: 'Because',
    });
    const bare = problemOf(new Refusal(RefusalKind.NotFound, 'Gone.')).toJSON('/x');
    assert.equal('errors' in bare, false);
    const other = problemOf(new Error('boom'));
    assert.equal(other.status, 500);
    assert.equal(other.detail, 'Something went wrong.');
  });
});

describe('refusals: activities fail for good', () => {
  it('asActivityFailure: a refusal is a non-retryable failure of its kind, with its fields', () => {
    const failure = asActivityFailure(invalid('Bad count.', 'quantity', 'must be at least 1'));
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.type, 'Invalid');
    assert.equal(failure.nonRetryable, true);
    assert.equal(failure.message, 'Bad count.');
    assert.deepEqual(failure.details, [
      { errors: [{ field: 'quantity', message: 'must be at least 1' }] },
    ]);
    const transient = new Error('connection reset');
    assert.equal(asActivityFailure(transient), transient, 'anything else is left to retry');
  });

  it('refusalsAsFailures wraps each activity, passing answers and other errors through', async () => {
    const transient = new Error('timeout');
    const wrapped = refusalsAsFailures({
      ok: (n: number) => Promise.resolve(n + 1),
      refuses: () => Promise.reject(new Refusal(RefusalKind.MemberClosed, 'closed')),
      flaky: () => Promise.reject(transient),
    });
    assert.equal(await wrapped.ok(1), 2);
    await assert.rejects(wrapped.refuses(), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'MemberClosed');
      assert.equal(err.nonRetryable, true);
      return true;
    });
    await assert.rejects(wrapped.flaky(), (err: unknown) => err === transient);
  });
});

describe('refusals through the real API and Temporal', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('refusals', {}, { partners: {} });
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    await t.stop();
  });

  /** The body as the client reads it, members in order, with its request id checked apart. */
  function answer(res: ApiResponse, path: string): Record<string, unknown> {
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(typeof res.body.requestId, 'string');
    assert.equal(res.body.instance, path);
    const { requestId: _id, instance: _path, ...rest } = res.body as Record<string, unknown>;
    return rest;
  }

  it('the ledger refusing an overdraw reaches the client as a 422 naming the field', async () => {
    const memberId = await memberWithPoints(t, 40);
    const path = `/members/${memberId}/adjustments`;
    const res = await t.api('POST', path, { body: { points: -41, reason: 'correction' } });
    assert.equal(res.status, 422);
    assert.deepEqual(Object.keys(res.body), [
      'type',
      'title',
      'status',
      'detail',
      'instance',
      'requestId',
      'errors',
    ]);
    assert.deepEqual(answer(res, path), {
      type: '/problems/validation',
      title: 'Validation failed',
      status: 422,
      detail: 'Cannot remove 41 points: 40 available.',
      errors: [{ field: 'points', message: 'exceeds the 40 points available' }],
    });
    assert.deepEqual(await balanceOf(t, memberId), { available: 40, pending: 0, held: 0, debt: 0 });
  });

  it('an unknown member is a 404, a closed one a 409, each naming the member', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    const missing = await post(t, purchase(unknown, [{ sku: 'a', amount: 5 }]));
    assert.equal(missing.status, 404);
    assert.deepEqual(answer(missing, '/events'), {
      type: '/problems/not-found',
      title: 'Not found',
      status: 404,
      detail: `No member with id '${unknown}'.`,
      errors: [{ field: 'memberId', message: 'no such member' }],
    });

    const memberId = await enrol(t);
    const close = await t.api('POST', `/members/${memberId}/close`, {
      body: { reason: 'left' },
      key: t.keys.ops,
    });
    assert.equal(close.status, 200, JSON.stringify(close.body));
    const closed = await post(t, purchase(memberId, [{ sku: 'a', amount: 5 }]));
    assert.equal(closed.status, 409);
    assert.deepEqual(answer(closed, '/events'), {
      type: '/problems/conflict',
      title: 'Conflict',
      status: 409,
      detail: `Member ${memberId} is closed.`,
      errors: [{ field: 'memberId', message: 'the member is closed' }],
    });
  });

  it('a redemption beyond the balance is refused at once with its reason', async () => {
    const sku = await createReward(t, { pointsCost: 300 });
    const memberId = await memberWithPoints(t, 100);
    const res = await redeem(t, { memberId, rewardId: sku });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.equal(res.body.type, '/problems/validation');
    assert.equal(res.body.reason, 'InsufficientPoints');
    assert.deepEqual(
      res.body.errors.map((e: { field: string }) => e.field),
      ['quantity'],
    );
    assert.equal(await t.db('redemptions').where({ member_id: memberId }).first(), undefined);
  });

  it('a catalog refusal in an inventory activity fails for good, typed by its kind', async () => {
    const { shipStock } = createInventoryActivities({ db: t.db });
    await assert.rejects(shipStock({ redemptionId: `none-${Date.now()}` }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure, String(err));
      assert.equal(err.type, 'NotFound');
      assert.equal(err.nonRetryable, true);
      return true;
    });
  });

  it('a refund to a member closed meanwhile ends the return as MemberClosed, tried once', async () => {
    const sku = await createReward(t, { pointsCost: 300, onHand: 2 });
    const memberId = await memberWithPoints(t, 1000);
    const res = await redeem(t, { memberId, rewardId: sku });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.redemptionId as string;
    await waitForStatus(t, id, 'completed');
    const close = await t.api('POST', `/members/${memberId}/close`, {
      body: { reason: 'left before the parcel came back' },
      key: t.keys.ops,
    });
    assert.equal(close.status, 200, JSON.stringify(close.body));
    const returned = await t.api('POST', `/redemptions/${id}/return`, {
      key: t.keys.ops,
      body: { reason: 'arrived back unopened' },
    });
    assert.equal(returned.status, 202, JSON.stringify(returned.body));

    const handle = t.env.client.workflow.getHandle(workflowIds.return(id));
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError, String(err));
      assert.ok(err.cause instanceof ActivityFailure, String(err.cause));
      assert.equal(err.cause.activityType, 'refundPoints');
      const failure = err.cause.cause;
      assert.ok(failure instanceof ApplicationFailure, String(failure));
      assert.equal(failure.type, 'MemberClosed');
      assert.equal(failure.nonRetryable, true);
      assert.deepEqual(failure.details, [
        { errors: [{ field: 'memberId', message: 'the member is closed' }] },
      ]);
      return true;
    });
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'refundPoints',
    );
    const started = events.find(
      (e) =>
        e.activityTaskStartedEventAttributes &&
        String(e.activityTaskStartedEventAttributes.scheduledEventId) ===
          String(scheduled?.eventId),
    );
    assert.equal(started?.activityTaskStartedEventAttributes?.attempt, 1, 'not retried');
    assert.deepEqual(await balanceOf(t, memberId), { available: 0, pending: 0, held: 0, debt: 0 });
  });
});
