/**
 * The what-if (`POST /rule-sets/simulations`): a proposed program replayed over the stored events
 * of a window. Its figures equal an independent recomputation over the same events; the unchanged
 * program reproduces what really happened; it writes nothing to the ledger; a worker stopped in the
 * middle of a run and another one started still give the same figures; bad input is refused.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { defaultProgram, programSchema, type ProgramInput } from '../domain/program';
import { emptyPart, mergeParts, shards } from '../domain/simulation';
import { dataConverterOf } from '../infra/payload-codec';
import { publishRuleSet } from '../ledger/programs';
import { eventually, startTestContext, type TestContext } from './support/context';
import { enrol, post, purchase } from './support/ledger';
import { recompute } from './support/what-if';
import { simulationWorkflow } from '../workflows/simulation';
import { workflowIds } from '../workflows/shared';

/** The live rules the events are recorded under. */
const live: ProgramInput = {
  ...defaultProgram,
  earning: {
    ...defaultProgram.earning,
    pendingPeriod: undefined,
    pointsPerUnit: { EUR: 1, USD: 1, GBP: 1, CHF: 1 },
    eventPoints: { referral: 500, review: 50, survey: 30 },
    bonuses: [{ name: 'app-basket', eventType: 'purchase', channel: 'app', points: 25 }],
  },
};

/** The change under study: other rates, a bonus, tighter caps, no more survey points. */
const proposed: ProgramInput = {
  ...defaultProgram,
  earning: {
    ...defaultProgram.earning,
    pendingPeriod: undefined,
    pointsPerUnit: { EUR: 0.9, USD: 2, GBP: 1.2 },
    channelMultipliers: { app: 2 },
    categoryMultipliers: { giftcards: 0, fashion: 1.5 },
    eventPoints: { referral: 400, review: 70 },
    bonuses: [{ name: 'big-basket', eventType: 'purchase', minAmount: 1000, points: 150 }],
    caps: { all: { perDay: 8_000 }, byEventType: { review: { perMonth: 150 } } },
  },
};

// A day of 2019 of this run's own: no other test's events occur in it.
const dayMs = Date.UTC(2019, 0, 1) + Math.floor(Math.random() * 360) * 86_400_000;
const at = (hour: number, minute = 0): string =>
  new Date(dayMs + hour * 3_600_000 + minute * 60_000).toISOString();
const window = { from: at(0), to: at(24) };

describe('what-if simulation', () => {
  let t: TestContext;
  let worker: { worker: Worker; running: Promise<void> } | null = null;
  let liveVersion = 0;

  /**
   * A worker on the test's queue. With `stallAfter`, its page activity hangs from that many pages
   * on until the worker is shut down under it; `stalled` resolves when it first does.
   */
  const startWorker = async (stallAfter?: number) => {
    const activities = createActivities({ db: t.db, config: t.config, temporal: t.env.client });
    let pages = 0;
    let stall = () => {};
    const stalled = new Promise<void>((resolve) => (stall = resolve));
    const w = await Worker.create({
      connection: t.env.nativeConnection,
      namespace: t.config.TEMPORAL_NAMESPACE,
      taskQueue: t.config.TEMPORAL_TASK_QUEUE,
      dataConverter: dataConverterOf(t.config),
      workflowBundle: { codePath: process.env.LOYALTY_TEST_WORKFLOW_BUNDLE! },
      activities: {
        ...activities,
        simulationPage: async (input: Parameters<typeof activities.simulationPage>[0]) => {
          pages += 1;
          if (stallAfter !== undefined && pages > stallAfter) {
            stall();
            await Context.current().cancelled; // the worker stops under it
          }
          return activities.simulationPage(input);
        },
      },
    });
    worker = { worker: w, running: w.run() };
    return { stalled };
  };
  const stopWorker = async () => {
    if (!worker) return;
    worker.worker.shutdown();
    await worker.running;
    worker = null;
  };

  const event = (memberId: string, hour: number, body: Record<string, unknown>) => ({
    eventId: `evt-${randomUUID()}`,
    memberId,
    occurredAt: at(hour),
    ...body,
  });
  const record = async (body: Record<string, unknown>) => {
    const res = await post(t, body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as Record<string, unknown>;
  };
  const buy = (memberId: string, hour: number, lines: Parameters<typeof purchase>[1], extra = {}) =>
    record({ ...purchase(memberId, lines, extra), occurredAt: at(hour) });

  const simulate = async (body: Record<string, unknown>) => {
    const res = await t.api('POST', '/rule-sets/simulations', { body });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.headers.get('location'), `/rule-sets/simulations/${res.body.id}`);
    return res.body as { id: string; progress: { total: number; processed: number } };
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the JSON under test
  type Json = any;
  const completed = async (id: string): Promise<Json> =>
    eventually<Json>(
      `simulation ${id} completed`,
      async () => {
        const res = await t.api('GET', `/rule-sets/simulations/${id}`, { key: t.keys.readonly });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.notEqual(res.body.state, 'failed', res.body.error);
        // eslint-disable-next-line @typescript-eslint/no-unsafe-return -- the JSON under test
        return res.body.state === 'completed' ? res.body : undefined;
      },
      60_000,
    );

  before(async () => {
    t = await startTestContext('simulation', { SIMULATION_PAGE_SIZE: 4 }, { worker: false });
    liveVersion = (
      await publishRuleSet(t.db, live, { createdBy: 'test', description: 'what-if live rules' })
    ).version;

    // Crosses Silver (2,000) under the live rules, not under the proposed EUR rate.
    const a = await enrol(t);
    await buy(a, 1, [{ sku: 'tv', amount: 990 }]);
    await buy(a, 2, [{ sku: 'radio', amount: 990 }]);
    await buy(a, 3, [{ sku: 'cable', amount: 150 }]);
    // Stays a Member under the live rules, reaches Silver under the proposed USD rate.
    const b = await enrol(t);
    await buy(b, 1, [{ sku: 'bike', amount: 1200 }], { currency: 'USD' });
    await buy(b, 2, [{ sku: 'helmet', amount: 500 }], { currency: 'USD' });
    // Hits the daily cap (10,000 live, 8,000 proposed) after reaching Gold.
    const c = await enrol(t);
    await buy(c, 1, [{ sku: 'sofa', amount: 6000 }]);
    await buy(c, 2, [{ sku: 'table', amount: 6000 }]);
    // Reviews over the monthly review cap, a referral, a custom type the proposal drops.
    const d = await enrol(t);
    for (const hour of [1, 2, 3, 4, 5]) await record(event(d, hour, { type: 'review' }));
    await record(event(d, 6, { type: 'referral', reference: 'friend' }));
    await record(event(d, 7, { type: 'custom', name: 'survey' }));
    // Currencies, channels and categories; a return of part of an order of the window.
    const e = await enrol(t);
    const order = purchase(
      e,
      [
        { sku: 'shoes', category: 'fashion', quantity: 2, amount: 120 },
        { sku: 'card', category: 'giftcards', amount: 50 },
      ],
      { currency: 'GBP', channel: 'app', country: 'GB' },
    );
    await record({ ...order, occurredAt: at(1) });
    await buy(e, 2, [
      { sku: 'scarf', category: 'fashion', amount: 45.5 },
      { sku: 'mug', amount: 12.25 },
    ]);
    await record(
      event(e, 3, {
        type: 'return',
        orderId: order.orderId,
        lines: [{ sku: 'shoes', quantity: 1 }],
      }),
    );
    // A return in the window of a purchase before it.
    const f = await enrol(t);
    const old = purchase(f, [{ sku: 'lamp', quantity: 3, amount: 300 }]);
    await record({ ...old, occurredAt: at(-12) });
    await record(
      event(f, 4, { type: 'return', orderId: old.orderId, lines: [{ sku: 'lamp', quantity: 1 }] }),
    );
    // A currency the proposal no longer earns in: neither the purchase nor its return count.
    const h = await enrol(t);
    const francs = purchase(
      h,
      [
        { sku: 'watch', amount: 400 },
        { sku: 'strap', amount: 60 },
      ],
      { currency: 'CHF', country: 'CH' },
    );
    await record({ ...francs, occurredAt: at(5) });
    await record(
      event(h, 6, {
        type: 'return',
        orderId: francs.orderId,
        lines: [{ sku: 'watch', quantity: 1 }],
      }),
    );
    // Many small purchases: one member over several pages.
    const g = await enrol(t);
    for (let i = 0; i < 10; i += 1)
      await buy(g, 8 + i, [{ sku: `snack-${i}`, amount: 10 + i }], {
        channel: i % 2 ? 'app' : 'web',
      });
  });
  after(async () => {
    await stopWorker();
    await t.stop();
  });

  it('gives the figures an independent recomputation gives, and writes nothing to the ledger', async () => {
    await startWorker();
    const ledgerBefore = await ledgerSnapshot(t);
    const started = await simulate({ program: proposed, window });
    assert.equal(started.progress.processed, 0);
    assert.equal(started.progress.total, 30, 'every event of the window, the old purchase not');

    const done = await completed(started.id);
    const expected = await recompute(
      t.db,
      programSchema.parse(proposed),
      window,
      t.config.POINT_COST,
    );
    assert.deepEqual(done.result, expected);
    assert.deepEqual(done.progress, { total: 30, processed: 30 });
    // The scenario reaches what it is meant to: both directions of tier change, caps, returns.
    assert.equal(done.result.tiers.up, 1);
    assert.equal(done.result.tiers.down, 1);
    assert.deepEqual(done.result.caps.map((c: { cap: string }) => c.cap).sort(), [
      'all.perDay',
      'review.perMonth',
    ]);
    assert.ok(done.result.points.byRule.some((r: { rule: string }) => r.rule === 'returns'));
    assert.ok(done.result.points.delta !== 0);
    assert.deepEqual(await ledgerSnapshot(t), ledgerBefore, 'the ledger is untouched');

    const audit = await t
      .db('change_audit')
      .where({ subject: 'simulation', subject_id: started.id });
    assert.deepEqual(
      audit.map((row: { action: string }) => row.action),
      ['start', 'complete'],
    );
  });

  it('replays the unchanged rules to exactly what the events really earned', async () => {
    const done = await completed((await simulate({ program: live, window })).id);
    assert.equal(done.result.points.simulated, done.result.points.actual);
    assert.ok(done.result.points.actual > 0);
    for (const r of done.result.points.byRule) assert.equal(r.delta, 0, r.rule);
    assert.deepEqual(done.result.tiers, { up: 0, down: 0, changes: [] });
    assert.deepEqual(done.result.mostAffected, []);
  });

  it('compares with a version replayed the same way when given baseVersion', async () => {
    const done = await completed(
      (await simulate({ program: proposed, baseVersion: liveVersion, window })).id,
    );
    const plain = await recompute(t.db, programSchema.parse(proposed), window, t.config.POINT_COST);
    assert.equal(done.result.points.simulated, plain.points.simulated);
    assert.equal(
      done.result.points.actual,
      plain.points.actual,
      'the live rules replayed = reality',
    );
  });

  it('gives the same figures after its worker stops mid-run and another takes over', async () => {
    await stopWorker();
    // The first six pages complete (a page of each of the four shards, then more), the next
    // hangs: there are always more (members D and G need two pages or more of four events).
    const { stalled } = await startWorker(6);
    const { id } = await simulate({ program: proposed, window });
    await stalled;
    const midway = (await t.api('GET', `/rule-sets/simulations/${id}`)).body;
    await stopWorker();
    assert.equal(midway.state, 'running');
    assert.ok(midway.progress.processed > 0, JSON.stringify(midway.progress));
    await startWorker();
    const done = await completed(id);
    assert.deepEqual(
      done.result,
      await recompute(t.db, programSchema.parse(proposed), window, t.config.POINT_COST),
    );
  });

  it('carries on from what a run hands the next one (continue-as-new)', async () => {
    // The first round of pages, run here; the workflow starts from the state it leaves, as a
    // run continued as new does (the state goes through Temporal as JSON).
    const activities = createActivities({ db: t.db, config: t.config, temporal: t.env.client });
    const simulationId = randomUUID();
    const input = { simulationId, program: proposed, window, actor: 'test' };
    await activities.simulationBegin(input);
    let part = emptyPart();
    let processed = 0;
    const handed = await Promise.all(
      shards(4).map(async (shard) => {
        const page = await activities.simulationPage({
          ...input,
          shard,
          cursor: null,
          carry: null,
          processed: 0,
        });
        part = mergeParts(part, page.part);
        processed += page.events;
        return { shard, cursor: page.cursor, carry: page.carry, done: page.done };
      }),
    );
    assert.ok(
      handed.some((s) => s.carry !== null),
      'a member is carried over',
    );
    const result = await t.env.client.workflow.execute(simulationWorkflow, {
      workflowId: workflowIds.simulation(simulationId),
      taskQueue: t.config.TEMPORAL_TASK_QUEUE,
      args: [input, { shards: handed, part, processed }],
    });
    assert.deepEqual(
      result,
      await recompute(t.db, programSchema.parse(proposed), window, t.config.POINT_COST),
    );
  });

  it('refuses bad input, naming the field, and starts nothing', async () => {
    const before = await t.db('simulations').count({ n: '*' }).first();
    const cases: [unknown, string][] = [
      [{ window }, 'program'],
      [{ program: proposed, changeId: 'x', window }, 'program'],
      [{ program: proposed, window: { from: window.to, to: window.from } }, 'window.to'],
      [{ program: proposed, window: { from: 'yesterday', to: window.to } }, 'window.from'],
      [
        { program: { ...proposed, tiers: [{ name: 'Gold', qualifyingPoints: 5 }] }, window },
        'program.tiers',
      ],
      [{ program: proposed, window, extra: 1 }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const res = await t.api('POST', '/rule-sets/simulations', { body });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.ok(
        res.body.errors.some((e: { field: string }) => e.field === field),
        `${field} in ${JSON.stringify(res.body.errors)}`,
      );
    }
    const unknownBase = await t.api('POST', '/rule-sets/simulations', {
      body: { program: proposed, baseVersion: 999_999, window },
    });
    assert.equal(unknownBase.status, 404);
    assert.equal(unknownBase.body.errors[0].field, 'baseVersion');
    const unknownChange = await t.api('POST', '/rule-sets/simulations', {
      body: { changeId: 'no-such-change', window },
    });
    assert.equal(unknownChange.status, 404);
    assert.equal(unknownChange.body.errors[0].field, 'changeId');
    const readonly = await t.api('POST', '/rule-sets/simulations', {
      body: { program: proposed, window },
      key: t.keys.readonly,
    });
    assert.equal(readonly.status, 403);
    assert.deepEqual(await t.db('simulations').count({ n: '*' }).first(), before);
  });

  it('fails a simulation started with a program that is not valid, and says why', async () => {
    const simulationId = randomUUID();
    const handle = await t.env.client.workflow.start(simulationWorkflow, {
      workflowId: workflowIds.simulation(simulationId),
      taskQueue: t.config.TEMPORAL_TASK_QUEUE,
      args: [{ simulationId, program: { earning: {} }, window, actor: 'test' }],
    });
    await assert.rejects(handle.result(), (err: Error) => {
      assert.match((err.cause as Error).message, /Simulation failed: The program is not valid/);
      return true;
    });
    const res = await t.api('GET', `/rule-sets/simulations/${simulationId}`);
    assert.equal(res.body.state, 'failed');
    assert.match(res.body.error, /The program is not valid/);
    assert.equal(res.body.result, null);
  });

  it('is found under /rule-sets/simulations, never read as a rule-set version', async () => {
    const missing = await t.api('GET', '/rule-sets/simulations/no-such-simulation');
    assert.equal(missing.status, 404);
    assert.match(missing.body.detail, /No simulation with id 'no-such-simulation'/);
    assert.equal(missing.body.errors[0].field, 'id');
    const version = await t.api('GET', '/rule-sets/1');
    assert.equal(version.status, 200, 'versions are still served beside it');
  });
});

/** What a simulation must not change: the ledger's rows and every balance. */
async function ledgerSnapshot(t: TestContext) {
  const count = async (table: string) =>
    Number(((await t.db(table).count({ n: '*' }).first()) as { n: string }).n);
  const tables = [
    'ledger_events',
    'ledger_entries',
    'lots',
    'purchase_lines',
    'earning_counters',
    'program_events',
  ];
  const counts = Object.fromEntries(
    await Promise.all(tables.map(async (table) => [table, await count(table)])),
  );
  const balances = await t.db.raw(
    `SELECT sum(available)::bigint AS available, sum(pending)::bigint AS pending,
       sum(debt)::bigint AS debt, string_agg(tier, ',' ORDER BY id) AS tiers FROM members`,
  );
  return { counts, balances: balances.rows[0] };
}
