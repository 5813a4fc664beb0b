/**
 * Launches on the real stack: an approved rule change rolled out with owner sign-offs, readiness
 * checks, a soft launch to a cohort, monitoring windows whose guard metrics roll back on their own,
 * staged promotion, and owners' pause / resume / rollback; every step in the audit trail, the
 * programme events and Temporal's visibility (`LaunchState`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ProgramInput } from '../domain/program';
import { publishRuleSet } from '../ledger/programs';
import { releaseState, versionForMember } from '../ledger/releases';
import {
  eventually,
  startTestContext,
  type ApiResponse,
  type TestContext,
} from './support/context';
import { enrol, post, purchase } from './support/ledger';
import {
  approvedChange,
  keepRelease,
  listed,
  owner,
  waitForLaunch,
  type Owner,
} from './support/launches';
import { createReward, redeem, redemptionProgram, waitForStatus } from './support/redemptions';

/** The programme in force before each change: 1 point per EUR, partner calls tried 3 times. */
const before1: ProgramInput = redemptionProgram;
/** The change being launched: 3 points per EUR. */
const triple: ProgramInput = {
  ...redemptionProgram,
  earning: { ...redemptionProgram.earning, pointsPerUnit: { EUR: 3 } },
};

let t: TestContext;

async function earned(memberId: string): Promise<{ points: number; version: number }> {
  const res = await post(t, purchase(memberId, [{ sku: 'tee', amount: 10 }]));
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { points: res.body.points.earned as number, version: res.body.ruleVersion as number };
}

async function events(launchId: string): Promise<string[]> {
  const rows = await t
    .db<{ type: string }>('program_events')
    .whereRaw(`payload->>'launchId' = ?`, [launchId])
    .orderBy('id');
  return rows.map((r) => r.type);
}

async function trail(launchId: string) {
  const res = await t.api('GET', `/launches/${launchId}/audit`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.trail as { action: string; actor: string; reason: string | null; to: string }[];
}

async function changeState(changeId: string, state: string): Promise<void> {
  await eventually(`rule change ${changeId} to be ${state}`, async () => {
    const res = await t.api('GET', `/rule-changes/${changeId}`);
    return res.body.state === state ? true : undefined;
  });
}

async function visible(launchId: string, state: string): Promise<void> {
  const query = `WorkflowId = 'launch:${launchId}' AND LaunchState = '${state}'`;
  await eventually(`Temporal to list ${launchId} as ${state}`, async () =>
    (await listed(t, query)).length === 1 ? true : undefined,
  );
}

function plan(changeId: string, owners: Record<string, Owner>, extra: Record<string, unknown>) {
  return {
    changeId,
    kind: 'programme',
    name: 'Triple points',
    owners: Object.fromEntries(Object.entries(owners).map(([area, o]) => [area, o.actor])),
    cohort: { percent: 10 },
    monitoring: { window: '1 minute', every: '1 second' },
    checks: { deadline: '2 minutes', every: '1 second' },
    ...extra,
  };
}

/** A launch signed off by every owner and told to go: soft-launched. */
async function softLaunched(body: ReturnType<typeof plan>, owners: Owner[]): Promise<string> {
  const created = await t.api('POST', '/launches', { body });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id as string;
  const areas = Object.keys(body.owners);
  for (const [i, o] of owners.entries()) {
    const res = await t.api('POST', `/launches/${id}/signoffs`, {
      key: o.key,
      body: { area: areas[i], reason: 'team briefed' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  await waitForLaunch(t, id, 'ready');
  const go = await t.api('POST', `/launches/${id}/go`, {
    key: owners[0]!.key,
    body: { reason: 'all green' },
  });
  assert.equal(go.status, 200, JSON.stringify(go.body));
  await waitForLaunch(t, id, 'soft-launched');
  return id;
}

describe('launches', () => {
  before(async () => {
    t = await startTestContext(
      'launch',
      { LAUNCH_BLACKOUT_DAYS: [], LAUNCH_HOURS: { from: '00:00', to: '24:00' } },
      { partners: {} },
    );
  });
  after(async () => t.stop());

  it('refuses a bad plan or a change that is not approved, and writes nothing', async () => {
    const restore = await keepRelease(t);
    try {
      await publishRuleSet(t.db, before1, { createdBy: 'test' });
      const strategy = await owner(t, 'strategy');
      const bad = await t.api('POST', '/launches', {
        body: {
          ...plan('nope', { strategy }, {}),
          cohort: { percent: 0 },
          stages: [50],
          owners: { strategy: 'me' },
          monitoring: { window: '48 hours', every: '1 second' },
          checks: { deadline: 'soon' },
        },
      });
      assert.equal(bad.status, 422, JSON.stringify(bad.body));
      const fields = (bad.body.errors as { field: string }[]).map((e) => e.field).sort();
      assert.deepEqual(fields, [
        'checks.deadline',
        'cohort',
        'monitoring.every',
        'owners.strategy',
        'stages',
      ]);

      const missing = await t.api('POST', '/launches', {
        body: plan('no-such-change', { strategy }, {}),
      });
      assert.equal(missing.status, 404, JSON.stringify(missing.body));

      const proposed = await t.api('POST', '/rule-sets', {
        body: { program: triple, propose: true },
      });
      assert.equal(proposed.status, 201, JSON.stringify(proposed.body));
      const refused = await t.api('POST', '/launches', {
        body: plan(proposed.body.id as string, { strategy }, {}),
      });
      assert.equal(refused.status, 409, JSON.stringify(refused.body));
      assert.equal(refused.body.errors[0].field, 'changeId');
      const written = await t.db('launches').where({ change_id: proposed.body.id as string });
      assert.equal(written.length, 0);
    } finally {
      await restore();
    }
  });

  it('checks that have not passed by the deadline leave the launch preparing, listed; only cancel is left', async () => {
    const restore = await keepRelease(t);
    try {
      await publishRuleSet(t.db, before1, { createdBy: 'test' });
      const { changeId } = await approvedChange(t, triple);
      const strategy = await owner(t, 'strategy');
      const featured = await createReward(t, { onHand: 2 });
      const created = await t.api('POST', '/launches', {
        body: plan(
          changeId,
          { strategy },
          {
            checks: {
              deadline: '3 seconds',
              every: '1 second',
              featuredRewards: [featured],
              minStock: 5,
            },
          },
        ),
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = created.body.id as string;
      assert.equal(
        (
          await t.api('POST', `/launches/${id}/signoffs`, {
            key: strategy.key,
            body: { area: 'strategy' },
          })
        ).status,
        200,
      );
      let shown: ApiResponse['body'];
      await eventually('the checks deadline to pass', async () => {
        shown = (await t.api('GET', `/launches/${id}`)).body;
        return shown.checks.deadlinePassed ? true : undefined;
      });
      assert.equal(shown.state, 'preparing');
      assert.equal(shown.checks.passed, false);
      const stock = (shown.checks.results as { name: string; ok: boolean; detail: string }[]).find(
        (c) => c.name === 'stock',
      );
      assert.equal(stock?.ok, false, JSON.stringify(stock));
      assert.match(stock.detail, new RegExp(featured));
      const go = await t.api('POST', `/launches/${id}/go`, { key: strategy.key, body: {} });
      assert.equal(go.status, 409, JSON.stringify(go.body));
      const steps = await trail(id);
      assert.ok(steps.some((s) => s.action === 'checks_deadline_passed'));
      const cancelled = await t.api('POST', `/launches/${id}/cancel`, {
        key: strategy.key,
        body: { reason: 'stock did not arrive' },
      });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      assert.equal(cancelled.body.state, 'cancelled');
      await changeState(changeId, 'approved');
    } finally {
      await restore();
    }
  });

  it('sign-offs: only the named owner; a withdrawal blocks go-live; a blackout go waits; cancel', async () => {
    const restore = await keepRelease(t);
    const window = { days: t.config.LAUNCH_BLACKOUT_DAYS, hours: t.config.LAUNCH_HOURS };
    try {
      await publishRuleSet(t.db, before1, { createdBy: 'test' });
      const { changeId } = await approvedChange(t, triple);
      const strategy = await owner(t, 'strategy');
      const finance = await owner(t, 'finance');
      // This launch runs under the default calendar: no go-live Friday to Sunday, 09:00-17:00.
      t.config.LAUNCH_BLACKOUT_DAYS = ['Fri', 'Sat', 'Sun'];
      t.config.LAUNCH_HOURS = { from: '09:00', to: '17:00' };
      const create = () =>
        t.api('POST', '/launches', {
          body: plan(changeId, { strategy, finance }, {}),
          headers: { 'Idempotency-Key': `launch-${changeId}` },
        });
      const created = await create();
      t.config.LAUNCH_BLACKOUT_DAYS = window.days;
      t.config.LAUNCH_HOURS = window.hours;
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.headers.get('location'), `/launches/${created.body.id}`);
      const id = created.body.id as string;
      assert.equal(created.body.state, 'preparing');
      await changeState(changeId, 'launching');
      // The same request again (its answer lost): the same launch, nothing created twice.
      const repeated = await create();
      assert.equal(repeated.status, 201);
      assert.equal(repeated.headers.get('idempotent-replayed'), 'true');
      assert.equal(repeated.body.id, id);
      assert.equal((await t.db('launches').where({ change_id: changeId })).length, 1);

      const sign = (o: Owner, area: string) =>
        t.api('POST', `/launches/${id}/signoffs`, { key: o.key, body: { area, reason: 'ready' } });
      const wrongOwner = await sign(finance, 'strategy');
      assert.equal(wrongOwner.status, 403, JSON.stringify(wrongOwner.body));
      assert.match(wrongOwner.body.detail, new RegExp(`Only ${strategy.actor}`));
      const admin = await t.api('POST', `/launches/${id}/signoffs`, { body: { area: 'finance' } });
      assert.equal(admin.status, 403, 'an admin is not the finance owner');
      const signed = await sign(strategy, 'strategy');
      assert.equal(signed.status, 200, JSON.stringify(signed.body));
      assert.deepEqual(
        signed.body.signoffs.map((s: { area: string; signed: boolean }) => [s.area, s.signed]),
        [
          ['strategy', true],
          ['finance', false],
        ],
      );
      assert.equal((await sign(strategy, 'strategy')).status, 409, 'signed off already');

      // Every check passes, but finance has not signed off: not ready, and go is refused.
      let checked: ApiResponse['body'];
      await eventually('the checks to pass', async () => {
        checked = (await t.api('GET', `/launches/${id}`)).body;
        return checked.checks.passed ? true : undefined;
      });
      assert.equal(checked.state, 'preparing');
      assert.ok(checked.checks.results.length > 0);
      for (const c of checked.checks.results) assert.equal(c.ok, true, JSON.stringify(c));
      const early = await t.api('POST', `/launches/${id}/go`, { key: strategy.key, body: {} });
      assert.equal(early.status, 409, JSON.stringify(early.body));

      assert.equal((await sign(finance, 'finance')).status, 200);
      await waitForLaunch(t, id, 'ready');

      // Go, asked for on a Saturday: it waits for Monday 09:00 and says so.
      const saturday = new Date(Date.UTC(2030, 0, 5, 12)).toISOString();
      const go = await t.api('POST', `/launches/${id}/go`, {
        key: finance.key,
        body: { at: saturday, reason: 'after the briefing' },
      });
      assert.equal(go.status, 200, JSON.stringify(go.body));
      const waiting = await waitForLaunch(t, id, 'waiting');
      assert.equal(waiting.goLiveAt, '2030-01-07T09:00:00.000Z');
      assert.match(waiting.slotMovedBecause, /no launches on Sat: waits for Mon 2030-01-07 09:00/);

      // Finance withdraws before go-live: back to preparing, go refused until it signs again.
      const withdrawn = await t.api('POST', `/launches/${id}/signoffs/finance/withdraw`, {
        key: finance.key,
        body: { reason: 'support script not ready' },
      });
      assert.equal(withdrawn.status, 200, JSON.stringify(withdrawn.body));
      await waitForLaunch(t, id, 'preparing');
      const refused = await t.api('POST', `/launches/${id}/go`, { key: strategy.key, body: {} });
      assert.equal(refused.status, 409);

      const outsider = await owner(t, 'outsider');
      const notOwner = await t.api('POST', `/launches/${id}/cancel`, {
        key: outsider.key,
        body: { reason: 'not mine to cancel' },
      });
      assert.equal(notOwner.status, 403, JSON.stringify(notOwner.body));
      const cancelled = await t.api('POST', `/launches/${id}/cancel`, {
        key: strategy.key,
        body: { reason: 'replanned for next week' },
      });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      assert.equal(cancelled.body.state, 'cancelled');
      await changeState(changeId, 'approved');
      await visible(id, 'cancelled');
      const list = await t.api('GET', `/launches?changeId=${changeId}&state=cancelled`, {
        key: t.keys.readonly,
      });
      assert.equal(list.status, 200, JSON.stringify(list.body));
      assert.deepEqual(
        list.body.launches.map((l: { id: string }) => l.id),
        [id],
      );

      const steps = await trail(id);
      const actions = steps.map((s) => s.action);
      const readyAt = actions.indexOf('ready');
      // Checks and sign-offs run side by side: in either order before `ready`.
      assert.deepEqual(actions.slice(0, readyAt).sort(), [
        'checks_passed',
        'created',
        'signed_off',
        'signed_off',
      ]);
      assert.deepEqual(actions.slice(readyAt), [
        'ready',
        'go',
        'waiting',
        'signoff_withdrawn',
        'not_ready',
        'cancelled',
      ]);
      const byAction = Object.fromEntries(steps.map((s) => [s.action, s]));
      assert.equal(byAction.signoff_withdrawn!.actor, finance.actor);
      assert.equal(byAction.signoff_withdrawn!.reason, 'support script not ready');
      assert.equal(byAction.cancelled!.actor, strategy.actor);
      assert.deepEqual(
        await events(id),
        steps.map((s) => `launch.${s.action}`),
      );
    } finally {
      t.config.LAUNCH_BLACKOUT_DAYS = window.days;
      t.config.LAUNCH_HOURS = window.hours;
      await restore();
    }
  });

  it('a clean window promotes stage by stage until everyone earns under the new version', async () => {
    const restore = await keepRelease(t);
    try {
      await publishRuleSet(t.db, before1, { createdBy: 'test' });
      const { changeId, version } = await approvedChange(t, triple);
      const [named, anyone] = [await enrol(t), await enrol(t)];
      const strategy = await owner(t, 'strategy');
      const operations = await owner(t, 'operations');
      const id = await softLaunched(
        plan(
          changeId,
          { strategy, operations },
          {
            cohort: { percent: 10, members: [named] },
            stages: [50, 100],
            monitoring: {
              window: '3 seconds',
              every: '1 second',
              metrics: { redemptionFailureRate: { threshold: 0.5, onBreach: 'rollback' } },
            },
          },
        ),
        [strategy, operations],
      );
      const live = await waitForLaunch(t, id, 'live');
      assert.equal(live.stage.index, 2);
      assert.equal(live.cohort.percent, 100);
      assert.ok(live.monitoring.measuredAt, 'the last window was measured');
      assert.equal((await releaseState(t.db)).generalVersion, version);
      assert.equal((await releaseState(t.db)).cohort, null);
      assert.deepEqual(await earned(anyone), { points: 30, version });
      const steps = await trail(id);
      assert.deepEqual(
        steps
          .filter((s) => ['soft_launched', 'promoted', 'live'].includes(s.action))
          .map((s) => s.to),
        ['soft-launched', 'promoting', 'live'],
      );
      await changeState(changeId, 'active');
      await visible(id, 'live');
      // Ended: the workflow has completed, and a command is refused as such.
      assert.equal(await t.env.client.workflow.getHandle(`launch:${id}`).result(), 'live');
      const late = await t.api('POST', `/launches/${id}/rollback`, {
        key: strategy.key,
        body: { reason: 'too late' },
      });
      assert.equal(late.status, 409, JSON.stringify(late.body));
      assert.match(late.body.detail, /live/);
    } finally {
      await restore();
    }
  });

  it('owners pause, resume and roll back; the cohort returns to the previous version', async () => {
    const restore = await keepRelease(t);
    try {
      const base = (await publishRuleSet(t.db, before1, { createdBy: 'test' })).version;
      const { changeId, version } = await approvedChange(t, triple);
      const member = await enrol(t);
      const strategy = await owner(t, 'strategy');
      const support = await owner(t, 'support');
      const id = await softLaunched(
        plan(
          changeId,
          { strategy, support },
          {
            cohort: { percent: 0, members: [member] },
            monitoring: { window: '5 minutes', every: '1 second' },
          },
        ),
        [strategy, support],
      );
      assert.equal(await versionForMember(t.db, member), version);
      const outsider = await owner(t, 'outsider');
      const notOwner = await t.api('POST', `/launches/${id}/pause`, {
        key: outsider.key,
        body: { reason: 'not mine' },
      });
      assert.equal(notOwner.status, 403, JSON.stringify(notOwner.body));
      const readonly = await t.api('POST', `/launches/${id}/pause`, {
        key: t.keys.readonly,
        body: { reason: 'looking only' },
      });
      assert.equal(readonly.status, 403);
      assert.equal(
        (
          await t.api('POST', `/launches/${id}/resume`, {
            key: strategy.key,
            body: { reason: 'x y z' },
          })
        ).status,
        409,
        'not paused',
      );

      const paused = await t.api('POST', `/launches/${id}/pause`, {
        key: support.key,
        body: { reason: 'support queue spiking' },
      });
      assert.equal(paused.status, 200, JSON.stringify(paused.body));
      assert.equal(paused.body.state, 'paused');
      assert.ok(paused.body.monitoring.pausedWithMsLeft > 0);
      assert.equal(await versionForMember(t.db, member), version, 'still on the new version');
      await visible(id, 'paused');

      const resumed = await t.api('POST', `/launches/${id}/resume`, {
        key: strategy.key,
        body: { reason: 'queue back to normal' },
      });
      assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
      assert.equal(resumed.body.state, 'soft-launched');

      const rolled = await t.api('POST', `/launches/${id}/rollback`, {
        key: strategy.key,
        body: { reason: 'partner asked us to wait' },
      });
      assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
      assert.equal(rolled.body.state, 'rolled-back');
      assert.equal(await versionForMember(t.db, member), base);
      const again = await t.api('POST', `/launches/${id}/rollback`, {
        key: strategy.key,
        body: { reason: 'twice' },
      });
      assert.equal(again.status, 409);
      await changeState(changeId, 'rolled-back');

      const steps = await trail(id);
      assert.deepEqual(
        steps.slice(-3).map((s) => [s.action, s.actor, s.reason, s.to]),
        [
          ['paused', support.actor, 'support queue spiking', 'paused'],
          ['resumed', strategy.actor, 'queue back to normal', 'soft-launched'],
          ['rolled_back', strategy.actor, 'partner asked us to wait', 'rolled-back'],
        ],
      );
      const types = await events(id);
      for (const type of ['launch.paused', 'launch.resumed', 'launch.rolled_back']) {
        assert.ok(types.includes(type), type);
      }
    } finally {
      await restore();
    }
  });
  it('a breach whose policy is pause holds the window for an owner; resumed, it finishes and promotes', async () => {
    const restore = await keepRelease(t);
    try {
      await publishRuleSet(t.db, before1, { createdBy: 'test' });
      const { changeId, version } = await approvedChange(t, triple);
      const member = await enrol(t);
      const strategy = await owner(t, 'strategy');
      const id = await softLaunched(
        plan(
          changeId,
          { strategy },
          {
            cohort: { percent: 0, members: [member] },
            monitoring: {
              window: '4 seconds',
              every: '1 second',
              metrics: { manualAdjustments: { threshold: 0, onBreach: 'pause' } },
            },
          },
        ),
        [strategy],
      );
      // A manual adjustment to a cohort member: over the threshold of none.
      const adjusted = await t.api('POST', `/members/${member}/adjustments`, {
        key: t.keys.ops,
        body: { points: 5, reason: 'goodwill' },
      });
      assert.equal(adjusted.status, 201, JSON.stringify(adjusted.body));
      const paused = await waitForLaunch(t, id, 'paused');
      assert.ok(paused.monitoring.pausedWithMsLeft > 0);
      const steps = await trail(id);
      const pause = steps.find((s) => s.action === 'paused')!;
      assert.equal(pause.actor, 'guard');
      assert.match(pause.reason!, /manualAdjustments/);
      assert.equal(await versionForMember(t.db, member), version, 'the cohort stays on');

      const resumed = await t.api('POST', `/launches/${id}/resume`, {
        key: strategy.key,
        body: { reason: 'the adjustment was a goodwill gesture' },
      });
      assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
      // The accepted breach does not pause the window again: it runs out and promotes.
      await waitForLaunch(t, id, 'live');
      assert.equal((await releaseState(t.db)).generalVersion, version);
      await changeState(changeId, 'active');
    } finally {
      await restore();
    }
  });

  it('a cohort member earns under the new version, others under the old; a breach rolls back on its own', async () => {
    const restore = await keepRelease(t);
    try {
      const base = (await publishRuleSet(t.db, before1, { createdBy: 'test' })).version;
      const { changeId, version } = await approvedChange(t, triple);
      const [cohortMember, other] = [await enrol(t), await enrol(t)];
      const strategy = await owner(t, 'strategy');
      const id = await softLaunched(
        plan(
          changeId,
          { strategy },
          {
            cohort: { percent: 0, members: [cohortMember] },
            monitoring: {
              window: '2 minutes',
              every: '1 second',
              metrics: { redemptionFailureRate: { threshold: 0.5, onBreach: 'rollback' } },
            },
          },
        ),
        [strategy],
      );
      const shown = (await t.api('GET', `/launches/${id}`)).body;
      assert.deepEqual(shown.cohort, {
        percent: 0,
        plannedPercent: 0,
        namedCount: 1,
        inForce: true,
        version,
        previousVersion: base,
      });
      await visible(id, 'soft-launched');

      assert.deepEqual(await earned(cohortMember), { points: 30, version });
      assert.deepEqual(await earned(other), { points: 10, version: base });

      // The gift-card provider declines the cohort's card: its redemption fails, and the guard
      // (more than half the cohort's redemptions failed) rolls the cohort back on its own.
      const card = await createReward(t, { kind: 'gift_card', pointsCost: 20, denomination: 25 });
      t.partners!.giftcards.declineNext(1);
      try {
        const res = await redeem(t, { memberId: cohortMember, rewardId: card });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        await waitForStatus(t, res.body.redemptionId as string, 'failed');
        const rolled = await waitForLaunch(t, id, 'rolled-back');
        assert.equal(rolled.cohort.inForce, false);
        const breach = (rolled.monitoring.verdicts as { metric: string; breached: boolean }[]).find(
          (v) => v.metric === 'redemptionFailureRate',
        );
        assert.equal(breach?.breached, true);
      } finally {
        t.partners!.giftcards.faults.reset();
      }
      assert.deepEqual(await earned(cohortMember), { points: 10, version: base });
      const steps = await trail(id);
      const rollback = steps.find((s) => s.action === 'rolled_back')!;
      assert.equal(rollback.actor, 'guard');
      assert.match(rollback.reason!, /redemptionFailureRate/);
      assert.ok((await events(id)).includes('launch.rolled_back'));
      await changeState(changeId, 'rolled-back');
      await visible(id, 'rolled-back');
    } finally {
      await restore();
    }
  });
});
