/**
 * Rule changes as change requests (`rule-change:<id>`), on the real stack: four eyes, edits that
 * revoke approvals, a scheduled activation that fires on time with members told first, purchases
 * on either side of it, rejection and withdrawal, bad input, idempotent creation, the audit trail
 * and the search attribute.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createApiKey } from '../api/keys';
import { defaultProgram, type ProgramInput } from '../domain/program';
import type { SimulationResult } from '../domain/simulation';
import { auditTrail } from '../changes/audit';
import { approveRuleChange, createRuleChange, proposeRuleChange } from '../changes/rule-changes';
import { generalVersion, setGeneralVersion } from '../ledger/releases';
import { attachLaunchUpdate, launchEndedSignal } from '../workflows/shared';
import { eventually, startTestContext, uniqueId, type TestContext } from './support/context';
import { enrol, instantProgram, post, publishProgram, purchase } from './support/ledger';

let t: TestContext;
let startVersion: number;
let approver2: string;
let approver3: string;

const base: ProgramInput = { ...defaultProgram, ...instantProgram };
const doubled: ProgramInput = {
  ...base,
  earning: { ...base.earning, pointsPerUnit: { EUR: 2, USD: 1, GBP: 1 } },
};

const ask = (program: ProgramInput, extra: Record<string, unknown> = {}, key?: string) =>
  t.api('POST', '/rule-sets', { body: { description: 'double EUR', program, ...extra }, key });
const act = (id: string, action: string, body: unknown, key?: string) =>
  t.api('POST', `/rule-changes/${id}/${action}`, { body, key });
interface ChangeView {
  state: string;
  baseVersion: number;
  version: number;
  revision: number;
  activatedAt: string | null;
  approvals: unknown[];
  simulation: { id: string; state: string; result: unknown } | null;
}
const show = async (id: string): Promise<ChangeView> =>
  (await t.api('GET', `/rule-changes/${id}`)).body as ChangeView;

/** A change proposed by the admin key and approved by the two other admins. */
async function approvedChange(program = doubled): Promise<string> {
  const created = await ask(program, { propose: true });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id as string;
  for (const key of [approver2, approver3]) {
    const res = await act(id, 'approve', { reason: 'looks right' }, key);
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  assert.equal((await show(id)).state, 'approved');
  return id;
}

describe('rule changes', () => {
  before(async () => {
    t = await startTestContext('rule-changes', {
      LAUNCH_BLACKOUT_DAYS: [],
      LAUNCH_HOURS: { from: '00:00', to: '24:00' },
      RULE_CHANGE_APPROVALS: 2,
      RULE_CHANGE_NOTICE: '1 second',
      // The what-if replays only the events of the test that proposes.
      RULE_CHANGE_SIMULATION_WINDOW: '3 seconds',
    });
    startVersion = await generalVersion(t.db);
    await publishProgram(t, instantProgram);
    approver2 = (await createApiKey(t.db, { role: 'admin', name: 'rule-changes-admin-2' })).key;
    approver3 = (await createApiKey(t.db, { role: 'admin', name: 'rule-changes-admin-3' })).key;
  });
  after(async () => {
    // Other test files find the rules they started with.
    await t.db.transaction((trx) => setGeneralVersion(trx, startVersion));
    await t.stop();
  });

  it('four eyes: the proposer may not approve, nobody twice; an edit revokes approvals', async () => {
    const inForce = (await t.api('GET', '/rule-sets/active')).body.version as number;
    const created = await ask(doubled, { propose: true });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    assert.equal(created.headers.get('location'), `/rule-changes/${id}`);
    assert.equal(created.body.state, 'proposed');
    assert.equal(created.body.proposedBy, 'admin:rule-changes-admin');
    assert.equal(created.body.baseVersion, inForce);
    assert.equal(created.body.workflowId, `rule-change:${id}`);
    assert.deepEqual(created.body.diff, [
      { path: 'earning.pointsPerUnit.EUR', before: 1, after: 2 },
    ]);

    const own = await act(id, 'approve', { reason: 'mine is fine' });
    assert.equal(own.status, 403, JSON.stringify(own.body));
    assert.equal(own.body.errors[0].field, 'approver');
    assert.match(own.body.detail, /proposed .* may not approve/);
    const ops = await act(id, 'approve', { reason: 'ops say yes' }, t.keys.ops);
    assert.equal(ops.status, 403);

    const first = await act(id, 'approve', { reason: 'checked the diff' }, approver2);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.state, 'proposed', 'one of two approvals');
    assert.deepEqual(
      first.body.approvals.map((a: { actor: string }) => a.actor),
      ['admin:rule-changes-admin-2'],
    );
    const twice = await act(id, 'approve', { reason: 'again' }, approver2);
    assert.equal(twice.status, 409, JSON.stringify(twice.body));
    assert.match(twice.body.detail, /already approved/);

    const edited = await t.api('PUT', `/rule-changes/${id}`, {
      body: {
        program: { ...doubled, earning: { ...doubled.earning, pointsPerUnit: { EUR: 3 } } },
      },
    });
    assert.equal(edited.status, 200, JSON.stringify(edited.body));
    assert.equal(edited.body.revision, 2);
    assert.deepEqual(edited.body.approvals, [], 'the edit revoked the approval');
    assert.equal(edited.body.state, 'proposed');
    assert.ok(
      edited.body.diff.some(
        (d: { path: string; after: unknown }) => d.path === 'earning.pointsPerUnit.GBP',
      ),
      JSON.stringify(edited.body.diff),
    );

    assert.equal((await act(id, 'approve', { reason: 'ok now' }, approver2)).status, 200);
    const done = await act(id, 'approve', { reason: 'ok by me' }, approver3);
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.state, 'approved');
    assert.ok(done.body.version > inForce, 'published at the final approval');
    const published = await t.api('GET', `/rule-sets/${done.body.version}`);
    assert.equal(published.body.program.earning.pointsPerUnit.EUR, 3);
    const active = await t.api('GET', '/rule-sets/active');
    assert.equal(active.body.version, inForce, 'approved is not in force');

    const trail = (await t.api('GET', `/rule-changes/${id}/audit`)).body.audit as {
      action: string;
      actor: string;
      reason: string | null;
      to: string;
    }[];
    assert.deepEqual(
      trail.map((a) => [a.action, a.actor, a.to]),
      [
        ['created', 'admin:rule-changes-admin', 'draft'],
        ['proposed', 'admin:rule-changes-admin', 'proposed'],
        ['approval', 'admin:rule-changes-admin-2', 'proposed'],
        ['edited', 'admin:rule-changes-admin', 'proposed'],
        ['approval', 'admin:rule-changes-admin-2', 'proposed'],
        ['approved', 'admin:rule-changes-admin-3', 'approved'],
      ],
    );
    assert.equal(trail[5]!.reason, 'ok by me');
    assert.equal((await act(id, 'withdraw', { reason: 'not this one' })).status, 200);
  });

  it('a scheduled change: members told first, in force at activateAt, purchases on either side', async () => {
    const id = await approvedChange();
    const change = await show(id);
    const memberId = await enrol(t);
    const earlier = await post(t, purchase(memberId, [{ sku: 'a', amount: 10 }]));
    assert.equal(earlier.status, 201, JSON.stringify(earlier.body));
    assert.equal(earlier.body.points.earned, 10, 'under the version in force');
    assert.equal(earlier.body.ruleVersion, change.baseVersion);

    const asked = new Date(Date.now() + 5000);
    const scheduled = await act(id, 'schedule', {
      activateAt: asked.toISOString(),
      reason: 'monday morning',
    });
    assert.equal(scheduled.status, 200, JSON.stringify(scheduled.body));
    assert.equal(scheduled.body.state, 'scheduled');
    assert.equal(scheduled.body.activateAt, asked.toISOString());
    assert.equal(scheduled.body.slotMovedBecause, null);
    assert.equal(scheduled.body.noticeAt, new Date(asked.getTime() - 1000).toISOString());
    assert.equal((await t.api('GET', '/rule-sets/active')).body.version, change.baseVersion);

    const active = await eventually(
      'the activation',
      async () => {
        const now = await show(id);
        return now.state === 'active' ? now : undefined;
      },
      30_000,
    );
    const late = Date.parse(active.activatedAt as string) - asked.getTime();
    assert.ok(late >= 0 && late < 1000, `activated ${late} ms after activateAt`);
    assert.equal((await t.api('GET', '/rule-sets/active')).body.version, change.version);

    const later = await post(t, purchase(memberId, [{ sku: 'b', amount: 10 }]));
    assert.equal(later.body.points.earned, 20, 'under the new version');
    assert.equal(later.body.ruleVersion, change.version);

    const events = await t
      .db('program_events')
      .whereRaw("payload->>'changeId' = ?", [id])
      .orderBy('id');
    assert.deepEqual(
      events.map((e: { type: string }) => e.type),
      ['program.rules_changing', 'program.rules_changed'],
    );
    const [changing, changed] = events as {
      occurred_at: Date;
      payload: Record<string, unknown>;
    }[];
    assert.equal(changing!.payload.activateAt, asked.toISOString());
    assert.match(String(changing!.payload.summary), /earning\.pointsPerUnit\.EUR: 1 → 2/);
    assert.ok(changing!.occurred_at.getTime() < changed!.occurred_at.getTime());
    assert.ok(changing!.occurred_at.getTime() <= asked.getTime());

    const actions = (await t.api('GET', `/rule-changes/${id}/audit`)).body.audit.map(
      (a: { action: string }) => a.action,
    );
    assert.deepEqual(actions.slice(-3), ['scheduled', 'members-notified', 'activated']);

    const found = await eventually('the search attribute', async () => {
      const ids: string[] = [];
      for await (const wf of t.env.client.workflow.list({
        query: `RuleChangeState = 'active' AND RuleChangeId = '${id}'`,
      })) {
        ids.push(wf.workflowId);
      }
      return ids.length ? ids : undefined;
    });
    assert.deepEqual(found, [`rule-change:${id}`]);

    const again = await act(id, 'withdraw', { reason: 'too late' });
    assert.equal(again.status, 409);
    assert.equal(again.body.errors[0].field, 'state');
  });

  it('a schedule moved earlier starts over; a withdrawn schedule never fires', async () => {
    const id = await approvedChange();
    const version = (await show(id)).version;
    const far = new Date(Date.now() + 120_000).toISOString();
    assert.equal((await act(id, 'schedule', { activateAt: far })).status, 200);
    const soon = new Date(Date.now() + 2000);
    const moved = await act(id, 'schedule', { activateAt: soon.toISOString(), reason: 'sooner' });
    assert.equal(moved.body.activateAt, soon.toISOString());
    const active = await eventually('the earlier activation', async () => {
      const now = await show(id);
      return now.state === 'active' ? now : undefined;
    });
    assert.ok(Date.parse(active.activatedAt!) - soon.getTime() < 1000, active.activatedAt!);
    assert.equal((await t.api('GET', '/rule-sets/active')).body.version, version);
    const actions = (await t.api('GET', `/rule-changes/${id}/audit`)).body.audit.map(
      (a: { action: string }) => a.action,
    );
    assert.deepEqual(actions.slice(-4), [
      'scheduled',
      'scheduled',
      'members-notified',
      'activated',
    ]);

    const dropped = await approvedChange();
    const at = new Date(Date.now() + 3000).toISOString();
    assert.equal((await act(dropped, 'schedule', { activateAt: at })).status, 200);
    const withdrawn = await act(dropped, 'withdraw', { reason: 'changed our minds' });
    assert.equal(withdrawn.body.state, 'withdrawn');
    await new Promise((resolve) => setTimeout(resolve, 3500));
    assert.equal((await show(dropped)).state, 'withdrawn');
    assert.equal((await t.api('GET', '/rule-sets/active')).body.version, version, 'not in force');
    const events = await t.db('program_events').whereRaw("payload->>'changeId' = ?", [dropped]);
    assert.equal(events.length, 0, 'withdrawn before its notice was due');
  });

  it('proposing runs the what-if as a child workflow and attaches its result', async () => {
    await publishProgram(t, instantProgram); // 1 point per EUR in force again
    const memberId = await enrol(t);
    assert.equal((await post(t, purchase(memberId, [{ sku: 'w', amount: 40 }]))).status, 201);
    const created = await ask(doubled, { propose: true });
    const id = created.body.id as string;
    assert.equal(created.body.simulation.id, `${id}-r1`);
    const done = await eventually('the simulation', async () => {
      const now = (await t.api('GET', `/rule-changes/${id}`)).body as ChangeView;
      return now.simulation?.state === 'completed' ? now : undefined;
    });
    assert.equal(done.simulation!.id, `${id}-r1`);
    const result = done.simulation!.result as SimulationResult;
    assert.ok(result.events >= 1, JSON.stringify(result));
    const { progress } = done.simulation as unknown as {
      progress: { total: number; processed: number };
    };
    assert.ok(
      progress.total >= 1 && progress.processed === progress.total,
      `${JSON.stringify(progress)}`,
    );
    const mine = result.mostAffected.find((m) => m.memberId === memberId);
    assert.deepEqual(
      mine,
      { memberId, actual: 40, simulated: 80, delta: 40 },
      `EUR points double: ${JSON.stringify(result)}`,
    );
    const sim = await t.api('GET', `/rule-sets/simulations/${id}-r1`);
    assert.equal(sim.status, 200, JSON.stringify(sim.body));
    assert.equal(sim.body.changeId, id);

    const edited = await t.api('PUT', `/rule-changes/${id}`, { body: { program: base } });
    assert.equal(edited.body.simulation.id, `${id}-r2`, 'an edit re-simulates');
    const again = await eventually('the second simulation', async () => {
      const now = (await t.api('GET', `/rule-changes/${id}`)).body as ChangeView;
      return now.simulation?.state === 'completed' ? now : undefined;
    });
    const second = again.simulation!.result as SimulationResult;
    const mineAgain = second.mostAffected.find((m) => m.memberId === memberId);
    assert.ok(!mineAgain || mineAgain.delta === 0, 'the rules in force change nothing');
    assert.equal((await act(id, 'withdraw', { reason: 'seen enough' })).status, 200);
  });

  it('a launch takes an approved change over: cancelled gives it back, promoted makes it active', async () => {
    const id = await approvedChange();
    const handle = t.env.client.workflow.getHandle(`rule-change:${id}`);
    const owner = { actor: 'admin:launcher', role: 'admin' as const };
    const attached = await handle.executeUpdate(attachLaunchUpdate, {
      args: [{ ...owner, launchId: 'launch-a' }],
    });
    const change = await show(id);
    assert.equal(change.state, 'launching');
    assert.deepEqual(attached, {
      version: change.version,
      baseVersion: (await t.api('GET', '/rule-sets/active')).body.version,
    });
    await assert.rejects(
      handle.executeUpdate(attachLaunchUpdate, { args: [{ ...owner, launchId: 'launch-b' }] }),
      (err: Error) => /launching: it cannot be launched/.test((err.cause as Error).message),
    );
    const scheduling = await act(id, 'schedule', { activateAt: new Date().toISOString() });
    assert.equal(scheduling.status, 409, 'a launching change is not scheduled');

    const ended = (outcome: 'cancelled' | 'promoted') =>
      handle.signal(launchEndedSignal, {
        launchId: 'launch-a',
        outcome,
        actor: 'admin:launcher',
        reason: `launch ${outcome}`,
      });
    await ended('cancelled');
    await eventually('approved again', async () =>
      (await show(id)).state === 'approved' ? true : undefined,
    );
    await handle.executeUpdate(attachLaunchUpdate, { args: [{ ...owner, launchId: 'launch-a' }] });
    await ended('promoted');
    const active = await eventually('active', async () => {
      const now = await show(id);
      return now.state === 'active' ? now : undefined;
    });
    assert.ok(active.activatedAt);
    const listed = await t.api('GET', '/rule-changes?state=active', { key: t.keys.readonly });
    assert.ok(listed.body.ruleChanges.some((c: { id: string }) => c.id === id));
    const actions = (await t.api('GET', `/rule-changes/${id}/audit`)).body.audit.map(
      (a: { action: string; actor: string }) => `${a.action} by ${a.actor}`,
    );
    assert.deepEqual(actions.slice(-4), [
      'launch-attached by admin:launcher',
      'launch-cancelled by admin:launcher',
      'launch-attached by admin:launcher',
      'launch-promoted by admin:launcher',
    ]);
  });

  it('a change never undoes rules that came into force after it was proposed', async () => {
    const refused = await approvedChange();
    const moved = await publishProgram(t, instantProgram); // another version in force meanwhile
    const schedule = await act(refused, 'schedule', { activateAt: new Date().toISOString() });
    assert.equal(schedule.status, 409, JSON.stringify(schedule.body));
    assert.equal(schedule.body.errors[0].field, 'baseVersion');
    assert.match(schedule.body.detail, new RegExp(`, ${moved} now`));
    assert.equal((await show(refused)).state, 'approved', 'nothing changed');
    await assert.rejects(
      t.env.client.workflow.getHandle(`rule-change:${refused}`).executeUpdate(attachLaunchUpdate, {
        args: [{ actor: 'admin:launcher', role: 'admin', launchId: 'launch-stale' }],
      }),
      (err: Error) =>
        /cannot be launched: the rules in force changed/.test((err.cause as Error).message),
    );

    // Scheduled first, overtaken before its time: withdrawn at its time, not put in force.
    const overtaken = await approvedChange();
    const at = new Date(Date.now() + 3000).toISOString();
    assert.equal((await act(overtaken, 'schedule', { activateAt: at })).status, 200);
    const inForce = await publishProgram(t, instantProgram);
    const ended = await eventually(
      'the stale activation',
      async () => {
        const now = await show(overtaken);
        return now.state === 'withdrawn' ? now : undefined;
      },
      20_000,
    );
    assert.equal(ended.activatedAt, null);
    assert.equal((await t.api('GET', '/rule-sets/active')).body.version, inForce);
    const last = (await t.api('GET', `/rule-changes/${overtaken}/audit`)).body.audit.at(-1);
    assert.equal(last.action, 'withdrawn-stale');
    assert.equal(last.actor, 'system:schedule');
    const changed = await t
      .db('program_events')
      .where({ type: 'program.rules_changed' })
      .whereRaw("payload->>'changeId' = ?", [overtaken]);
    assert.equal(changed.length, 0, 'members are not told of a change that did not happen');
  });

  it('a step recorded twice (an activity retried after its commit) happens once', async () => {
    const id = randomUUID();
    const draft = {
      id,
      step: 'create:1',
      actor: 'admin:direct',
      description: 'direct',
      program: doubled,
      approvalsRequired: 2,
    };
    await createRuleChange(t.db, draft);
    await createRuleChange(t.db, draft);
    const step = { step: 'propose:2', actor: 'admin:direct', reason: 'twice' };
    await proposeRuleChange(t.db, id, step);
    await proposeRuleChange(t.db, id, step);
    const approval = {
      step: 'approve:3',
      actor: 'admin:other',
      reason: 'ok',
      at: '2026-12-04T00:00:00Z',
    };
    await approveRuleChange(t.db, id, approval);
    const row = await approveRuleChange(t.db, id, approval);
    assert.equal(row.approvals.length, 1);
    const trail = await auditTrail(t.db, 'rule-change', id);
    assert.deepEqual(
      trail.map((a) => a.action),
      ['created', 'proposed', 'approval'],
    );
    await assert.rejects(
      approveRuleChange(t.db, id, { ...approval, step: 'approve:4' }),
      /already approved/,
    );
  });

  it('rejected and withdrawn changes end there', async () => {
    const proposed = (await ask(doubled, { propose: true })).body.id as string;
    const rejected = await act(proposed, 'reject', { reason: 'too generous' }, approver2);
    assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
    assert.equal(rejected.body.state, 'rejected');
    assert.equal(rejected.body.rejection.actor, 'admin:rule-changes-admin-2');
    assert.equal(rejected.body.rejection.reason, 'too generous');
    assert.equal((await act(proposed, 'approve', { reason: 'late' }, approver3)).status, 409);

    const draft = await ask(doubled);
    assert.equal(draft.body.state, 'draft');
    const withdrawn = await act(draft.body.id as string, 'withdraw', { reason: 'wrong idea' });
    assert.equal(withdrawn.status, 200, JSON.stringify(withdrawn.body));
    assert.equal(withdrawn.body.state, 'withdrawn');
    const trail = (await t.api('GET', `/rule-changes/${draft.body.id}/audit`)).body.audit;
    assert.deepEqual(
      trail.map((a: { action: string; reason: string | null }) => [a.action, a.reason]),
      [
        ['created', null],
        ['withdrawn', 'wrong idea'],
      ],
    );
  });

  it('bad input names the field and changes nothing', async () => {
    const mine = () => t.db('rule_changes').where({ description: 'bad input' }).count({ n: '*' });
    const bad = await t.api('POST', '/rule-sets', {
      body: {
        description: 'bad input',
        program: { ...doubled, earning: { ...doubled.earning, pointsPerUnit: { EUR: -1 } } },
      },
    });
    assert.equal(bad.status, 422);
    assert.deepEqual(
      bad.body.errors.map((e: { field: string }) => e.field),
      ['program.earning.pointsPerUnit.EUR'],
    );
    assert.equal(Number((await mine())[0]!.n), 0);

    const created = await ask(doubled, { propose: true });
    const id = created.body.id as string;
    const noReason = await act(id, 'approve', {}, approver2);
    assert.equal(noReason.status, 422);
    assert.equal(noReason.body.errors[0].field, 'reason');
    const notApproved = await act(id, 'schedule', { activateAt: new Date().toISOString() });
    assert.equal(notApproved.status, 409, JSON.stringify(notApproved.body));
    assert.equal(notApproved.body.errors[0].field, 'state');
    const notADate = await act(id, 'schedule', { activateAt: 'tomorrow' });
    assert.equal(notADate.status, 422);
    assert.equal(notADate.body.errors[0].field, 'activateAt');
    const unknown = await t.api('GET', `/rule-changes/${randomUUID()}`);
    assert.equal(unknown.status, 404);
    const unchanged = await show(id);
    assert.equal(unchanged.state, 'proposed');
    assert.deepEqual(unchanged.approvals, []);
    assert.equal(unchanged.revision, 1);
  });

  it('the same Idempotency-Key makes one change request', async () => {
    const key = uniqueId('idem');
    const description = uniqueId('once');
    const send = () =>
      t.api('POST', '/rule-sets', {
        body: { description, program: doubled },
        headers: { 'idempotency-key': key },
      });
    const first = await send();
    const second = await send();
    assert.equal(first.status, 201);
    assert.equal(second.status, 201);
    assert.equal(second.body.id, first.body.id);
    const rows = await t.db('rule_changes').where({ description });
    assert.equal(rows.length, 1);
  });
});

describe('a rule change asked for on a holiday', () => {
  let h: TestContext;
  const today = new Date().toISOString().slice(0, 10);
  before(async () => {
    h = await startTestContext('rule-change-holiday', {
      LAUNCH_BLACKOUT_DAYS: [],
      LAUNCH_HOURS: { from: '00:00', to: '24:00' },
      PROGRAM_HOLIDAYS: [today],
      RULE_CHANGE_APPROVALS: 1,
    });
  });
  after(() => h.stop());

  it('waits for the next allowed day, and says so', async () => {
    const approver = (await createApiKey(h.db, { role: 'admin', name: 'holiday-admin-2' })).key;
    const created = await h.api('POST', '/rule-sets', {
      body: { program: doubled, propose: true },
    });
    const id = created.body.id as string;
    const approved = await h.api('POST', `/rule-changes/${id}/approve`, {
      body: { reason: 'fine' },
      key: approver,
    });
    assert.equal(approved.body.state, 'approved', JSON.stringify(approved.body));
    const inForce = (await h.api('GET', '/rule-sets/active')).body.version as number;
    const res = await h.api('POST', `/rule-changes/${id}/schedule`, {
      body: { activateAt: new Date().toISOString() },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.state, 'scheduled');
    const tomorrow = new Date(`${today}T00:00:00Z`).getTime() + 86_400_000;
    assert.equal(res.body.activateAt, new Date(tomorrow).toISOString());
    assert.match(res.body.slotMovedBecause, new RegExp(`${today} is a holiday`));
    const trail = (await h.api('GET', `/rule-changes/${id}/audit`)).body.audit;
    const scheduled = trail.find((a: { action: string }) => a.action === 'scheduled');
    assert.match(scheduled.details.movedBecause, /holiday/);
    // The notice (a week ahead by default) is already due: members are told at once.
    await eventually('the notice', async () => {
      const now = (await h.api('GET', `/rule-changes/${id}/audit`)).body.audit;
      return now.at(-1).action === 'members-notified' ? true : undefined;
    });
    assert.equal((await h.api('GET', '/rule-sets/active')).body.version, inForce, 'not in force');
    const withdrawn = await h.api('POST', `/rule-changes/${id}/withdraw`, {
      body: { reason: 'not before the holiday after all' },
    });
    assert.equal(withdrawn.body.state, 'withdrawn');
  });
});
