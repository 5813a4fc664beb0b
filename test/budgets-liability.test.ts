/**
 * The outstanding-liability ceiling (`budgets.liability`) on the real stack: accruals stop at the
 * ceiling in money (POINT_COST values the points, as programme health does), exactly under 32
 * concurrent accruals; a redemption that lowers the liability makes room again; warnings once;
 * `GET /program/budgets`; a ceiling in a currency without a cost is refused when proposed.
 * Liability is programme-wide, so the file has a database of its own; each test sets its ceiling
 * over the liability it finds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { recordEvent } from '../ledger/accrual';
import { defaultProgram, type ProgramInput } from '../domain/program';
import { startTestContext, type TestContext } from './support/context';
import { freshDatabase } from './support/database';
import { enrol, post, publishProgram, purchase } from './support/ledger';
import {
  createReward,
  memberWithPoints,
  redeem,
  redemptionProgram,
  waitForStatus,
} from './support/redemptions';

type Liability = NonNullable<NonNullable<ProgramInput['budgets']>['liability']>;

/** What one point costs in EUR in this file (POINT_COST). */
const cost = 0.02;

describe('liability ceiling', () => {
  let t: TestContext;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  before(async () => {
    database = await freshDatabase('budgets_liability');
    t = await startTestContext(
      'budgets-liability',
      { DATABASE_URL: database.url, DATABASE_POOL_MAX: 20, POINT_COST: { EUR: cost, USD: 0.01 } },
      { partners: {} },
    );
  });
  after(async () => {
    await t.stop();
    await database.drop();
  });

  /** Outstanding points, straight from the members' balances. */
  async function outstanding(): Promise<number> {
    const { rows } = await t.db.raw<{ rows: { n: string }[] }>(
      'SELECT coalesce(sum(available + pending + held), 0) AS n FROM members',
    );
    return Number(rows[0]!.n);
  }

  /** A ceiling `room` points above the liability now (in EUR at `cost`). */
  async function ceiling(room: number, extra: Partial<Liability> = {}): Promise<number> {
    const ceilingPoints = (await outstanding()) + room;
    await publishProgram(t, {
      ...redemptionProgram,
      budgets: {
        liability: {
          currency: 'EUR',
          limit: Math.round(ceilingPoints * cost * 100) / 100,
          atLimit: 'stopEarning',
          ...extra,
        },
      },
    });
    return ceilingPoints;
  }

  const earned = (res: { status: number; body: { points: { earned: number } } }) => {
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.points.earned;
  };

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON under test
  const figure = async (): Promise<any> => {
    const res = await t.api('GET', '/program/budgets', { key: t.keys.readonly });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body.budgets as { budget: string }[]).find((b) => b.budget === 'liability');
  };

  it('stopEarning: cut exactly at the ceiling, warnings once, the figure in money', async () => {
    const limitPoints = await ceiling(1000, { warnAt: [50, 90] });
    const memberId = await enrol(t);
    const answers = [];
    for (let i = 0; i < 5; i++)
      answers.push(await post(t, purchase(memberId, [{ sku: 'a', amount: 300 }])));
    assert.deepEqual(answers.map(earned), [300, 300, 300, 100, 0]);
    assert.equal(answers[3]!.body.points.overBudget, 200);
    assert.equal(await outstanding(), limitPoints);

    const events = await t
      .db('program_events')
      .whereIn('type', ['budget.warning', 'budget.exhausted'])
      .whereRaw(`payload->>'budget' = 'liability'`)
      .orderBy('id')
      .select<{ type: string; payload: Record<string, unknown> }[]>('type', 'payload');
    assert.deepEqual(
      events.map((e) => [e.type, e.payload.percent]),
      [
        ['budget.warning', 50],
        ['budget.warning', 90],
        ['budget.exhausted', 100],
      ],
    );
    const exhausted = events[2]!.payload;
    assert.equal(exhausted.currency, 'EUR');
    assert.equal(exhausted.used, Math.round(limitPoints * cost * 100) / 100);

    const f = await figure();
    assert.equal(f.kind, 'liability');
    assert.equal(f.unit, 'EUR');
    assert.deepEqual(f.period, { name: 'standing', id: 'standing', start: null, end: null });
    assert.equal(f.used, Math.round(limitPoints * cost * 100) / 100);
    assert.equal(f.remaining, 0);
    assert.equal(f.percent, 100);
    assert.equal(f.state, 'exhausted');
    assert.equal(f.projectedExhaustion, f.rate.to, 'already out: now');
    assert.equal(f.rate.used >= 1000 * cost, true, 'this test’s accruals are in the last hour');
  });

  it('32 concurrent accruals at the ceiling never pass it by one point', async () => {
    const members = await Promise.all(Array.from({ length: 32 }, () => enrol(t)));
    const limitPoints = await ceiling(1000);
    // Through the API (the accrual queue's batches) ...
    const viaApi = await Promise.all(
      members.map((m) => post(t, purchase(m, [{ sku: 'a', amount: 100 }]))),
    );
    assert.equal(
      viaApi.map(earned).reduce((s, n) => s + n, 0),
      1000,
    );
    assert.equal(await outstanding(), limitPoints);
    // ... and as 32 transactions of their own at once, against 700 more.
    const higher = await ceiling(700);
    const alone = await Promise.all(
      members.map((m) =>
        recordEvent(t.db, purchase(m, [{ sku: 'b', amount: 100 }]) as never, 'partner:test'),
      ),
    );
    const total = alone.reduce(
      (s, r) => s + Number((r.body.points as { earned: number }).earned),
      0,
    );
    assert.equal(total, 700);
    assert.equal(await outstanding(), higher);
    const { rows } = await t.db.raw<{ rows: { n: string }[] }>(
      `SELECT sum(amount) AS n FROM ledger_entries WHERE kind = 'accrual' AND member_id = ANY(?)`,
      [members],
    );
    assert.equal(Number(rows[0]!.n), 1700, 'the ledger agrees');
  });

  it('a redemption lowers the liability: accruals earn again up to the ceiling', async () => {
    const rewardId = await createReward(t, { kind: 'coupon', pointsCost: 250 });
    const spender = await memberWithPoints(t, 300);
    const limitPoints = await ceiling(0);
    const earner = await enrol(t);
    assert.equal(earned(await post(t, purchase(earner, [{ sku: 'a', amount: 50 }]))), 0);
    const res = await redeem(t, { memberId: spender, rewardId, redemptionId: randomUUID() });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await waitForStatus(t, res.body.redemptionId, 'completed');
    assert.equal(await outstanding(), limitPoints - 250);
    const again = [];
    for (let i = 0; i < 3; i++)
      again.push(earned(await post(t, purchase(earner, [{ sku: 'a', amount: 100 }]))));
    assert.deepEqual(again, [100, 100, 50]);
    assert.equal(await outstanding(), limitPoints);
  });

  it('a credit outside accruals is counted at once: accruals do not use its room', async () => {
    const limitPoints = await ceiling(100_000);
    const earner = await enrol(t);
    assert.equal(earned(await post(t, purchase(earner, [{ sku: 'a', amount: 10 }]))), 10);
    // Far from the ceiling the slots hold large allowances: only the counter knows of the credit.
    const credited = await enrol(t);
    const adjusted = await t.api('POST', `/members/${credited}/adjustments`, {
      body: { points: 99_980, reason: 'goodwill' },
    });
    assert.equal(adjusted.status, 201, JSON.stringify(adjusted.body));
    assert.equal(earned(await post(t, purchase(earner, [{ sku: 'a', amount: 50 }]))), 10);
    assert.equal(await outstanding(), limitPoints);
  });

  it('stopBonus: bonuses stop at the ceiling, base points do not', async () => {
    const limitPoints = (await outstanding()) + 500;
    await publishProgram(t, {
      ...redemptionProgram,
      earning: {
        ...redemptionProgram.earning,
        bonuses: [{ name: 'weekend', eventType: 'purchase', points: 100 }],
      },
      budgets: {
        liability: { currency: 'EUR', limit: Math.round(limitPoints * cost * 100) / 100 },
      },
    });
    const memberId = await enrol(t);
    const a = await post(t, purchase(memberId, [{ sku: 'a', amount: 300 }])); // 300 + 100
    const b = await post(t, purchase(memberId, [{ sku: 'a', amount: 50 }])); // 50 + 50 of 100
    const c = await post(t, purchase(memberId, [{ sku: 'a', amount: 20 }])); // 20 base only
    assert.deepEqual([a, b, c].map(earned), [400, 100, 20]);
    assert.equal(await outstanding(), limitPoints + 20);
    const f = await figure();
    assert.equal(f.state, 'exhausted');
    assert.equal(f.atLimit, 'stopBonus');
  });

  it('a ceiling in a currency without a cost of a point is refused when proposed', async () => {
    const res = await t.api('POST', '/rule-sets', {
      body: {
        program: {
          ...defaultProgram,
          budgets: { liability: { currency: 'JPY', limit: 1000 } },
        },
      },
    });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.errors.map((e: { field: string }) => e.field),
      ['program.budgets.liability.currency'],
    );
  });
});
