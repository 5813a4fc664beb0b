/**
 * Programme budgets end to end: points issued per day and month (stopEarning, stopBonus),
 * redemptions per reward and per campaign and gift-card spend (refused at the limit, given back on a refund),
 * warnings once, `GET /program/budgets`, and 32 concurrent requests against the last units.
 * Budgets are programme-wide, so the file has a database of its own; each test sets its limits
 * over what the budget already used.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { recordEvent } from '../ledger/accrual';
import type { ProgramInput } from '../domain/program';
import { periodOf } from '../domain/budgets';
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

type Budgets = NonNullable<ProgramInput['budgets']>;

describe('programme budgets', () => {
  let t: TestContext;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  before(async () => {
    database = await freshDatabase('budgets');
    t = await startTestContext(
      'budgets',
      // A loaded machine may take longer than the default to answer 32 holds at once.
      { DATABASE_URL: database.url, DATABASE_POOL_MAX: 20, REDEMPTION_ANSWER_SECONDS: 60 },
      { partners: {} },
    );
  });
  after(async () => {
    await t.stop();
    await database.drop();
  });

  const withBudgets = (budgets: Budgets) => publishProgram(t, { ...redemptionProgram, budgets });

  async function used(budget: string, period: 'day' | 'month'): Promise<number> {
    const { rows } = await t.db.raw<{ rows: { used: string }[] }>(
      'SELECT coalesce(sum(used), 0) AS used FROM budget_slots WHERE budget = ? AND period = ?',
      [budget, periodOf(new Date(), period, 'UTC')],
    );
    return Number(rows[0]!.used);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON under test
  const figure = async (budget: string): Promise<any> => {
    const res = await t.api('GET', '/program/budgets', { key: t.keys.readonly });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const budgets = res.body.budgets as { budget: string }[];
    return budgets.find((b) => b.budget === budget);
  };

  const earned = (res: { status: number; body: { points: { earned: number } } }) => {
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.points.earned;
  };

  it('points per day, stopEarning: exact cut at the limit, warnings once, figures', async () => {
    await withBudgets({
      points: { perDay: { limit: 1000, warnAt: [50, 90], atLimit: 'stopEarning' } },
    });
    const memberId = await enrol(t);
    const answers = [];
    for (let i = 0; i < 5; i++)
      answers.push(await post(t, purchase(memberId, [{ sku: 'a', amount: 300 }])));
    assert.deepEqual(answers.map(earned), [300, 300, 300, 100, 0]);
    assert.equal(answers[3]!.body.points.overBudget, 200);
    assert.equal(await used('points.day', 'day'), 1000);

    const events = await t
      .db('program_events')
      .whereIn('type', ['budget.warning', 'budget.exhausted'])
      .whereRaw(`payload->>'budget' = 'points.day'`)
      .orderBy('id')
      .select<{ type: string; payload: { percent: number } }[]>('type', 'payload');
    assert.deepEqual(
      events.map((e) => [e.type, e.payload.percent]),
      [
        ['budget.warning', 50],
        ['budget.warning', 90],
        ['budget.exhausted', 100],
      ],
    );

    const f = await figure('points.day');
    assert.equal(f.limit, 1000);
    assert.equal(f.used, 1000);
    assert.equal(f.remaining, 0);
    assert.equal(f.percent, 100);
    assert.equal(f.state, 'exhausted');
    assert.equal(f.rate.used, 1000, 'all of it in the last hour');
    assert.equal(f.projectedExhaustion !== null, true);
  });

  it('points per month, stopBonus: bonuses stop at the limit, base points do not', async () => {
    const before = await used('points.month', 'month');
    await publishProgram(t, {
      ...redemptionProgram,
      earning: {
        ...redemptionProgram.earning,
        bonuses: [{ name: 'weekend', eventType: 'purchase', points: 100 }],
      },
      budgets: { points: { perMonth: { limit: before + 500, warnAt: [80] } } },
    });
    const memberId = await enrol(t);
    const a = await post(t, purchase(memberId, [{ sku: 'a', amount: 300 }])); // 300 + 100
    const b = await post(t, purchase(memberId, [{ sku: 'a', amount: 50 }])); // 50 + 50 of 100
    const c = await post(t, purchase(memberId, [{ sku: 'a', amount: 20 }])); // 20 base only
    assert.deepEqual([a, b, c].map(earned), [400, 100, 20]);
    assert.equal(b.body.points.overBudget, 50);
    assert.equal(c.body.points.overBudget, 100);
    assert.equal(await used('points.month', 'month'), before + 520);
    const f = await figure('points.month');
    assert.equal(f.state, 'exhausted');
    assert.equal(f.atLimit, 'stopBonus');
  });

  it('32 concurrent accruals against the last points never overspend by one point', async () => {
    const start = await used('points.day', 'day');
    await withBudgets({ points: { perDay: { limit: start + 1000, atLimit: 'stopEarning' } } });
    const members = await Promise.all(Array.from({ length: 32 }, () => enrol(t)));
    // Through the API (the accrual queue's batches) ...
    const viaApi = await Promise.all(
      members.map((m) => post(t, purchase(m, [{ sku: 'a', amount: 100 }]))),
    );
    assert.equal(
      viaApi.map(earned).reduce((s, n) => s + n, 0),
      1000,
    );
    assert.equal(await used('points.day', 'day'), start + 1000);
    // ... and as 32 transactions of their own at once, against 700 more.
    await withBudgets({ points: { perDay: { limit: start + 1700, atLimit: 'stopEarning' } } });
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
    assert.equal(await used('points.day', 'day'), start + 1700);
    const { rows } = await t.db.raw<{ rows: { n: string }[] }>(
      `SELECT sum(amount) AS n FROM ledger_entries WHERE kind = 'accrual' AND member_id = ANY(?)`,
      [members],
    );
    assert.equal(Number(rows[0]!.n), 1700, 'the ledger agrees with the counter');
  });

  it('32 concurrent redemptions against the last 3 of a reward: exactly 3 held', async () => {
    const sku = await createReward(t, { pointsCost: 100, onHand: 100 });
    await withBudgets({ rewards: { [sku]: { perDay: { limit: 3, warnAt: [50] } } } });
    const members = [];
    for (let i = 0; i < 32; i++) members.push(await memberWithPoints(t, 500));
    const answers = await Promise.all(
      members.map((memberId) => redeem(t, { memberId, rewardId: sku })),
    );
    const held = answers.filter((r) => r.status === 201 && r.body.hold?.outcome === 'held');
    assert.equal(
      held.length,
      3,
      JSON.stringify(answers.map((r): unknown[] => [r.status, r.body.hold])),
    );
    for (const r of answers.filter((x) => !held.includes(x))) {
      if (r.status === 422) assert.equal(r.body.type, '/problems/budget-exhausted');
      else assert.equal(r.body.hold?.failureType, 'BudgetExhausted', JSON.stringify(r.body));
    }
    const taken = await t
      .db('budget_takes')
      .where({ budget: `reward.${sku}.day` })
      .count();
    assert.equal(Number(taken[0]!.count), 3);
    assert.equal(await used(`reward.${sku}.day`, 'day'), 3);
    const refused = await redeem(t, { memberId: members[0], rewardId: sku });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.type, '/problems/budget-exhausted');
    assert.match(refused.body.detail, /3 of 3 used/);
    const f = await figure(`reward.${sku}.day`);
    assert.deepEqual([f.used, f.limit, f.state, f.unit], [3, 3, 'exhausted', 'redemptions']);
  });

  it('a redemption that does not go ahead gives its unit back', async () => {
    const sku = await createReward(t, { pointsCost: 100, onHand: 0 }); // out of stock: refunded
    await withBudgets({ rewards: { [sku]: { perMonth: { limit: 1 } } } });
    const memberId = await memberWithPoints(t, 500);
    const res = await redeem(t, { memberId, rewardId: sku });
    assert.equal(res.body.hold?.outcome, 'held', JSON.stringify(res.body));
    await waitForStatus(t, res.body.redemptionId, 'failed');
    assert.equal(await used(`reward.${sku}.month`, 'month'), 0);
    const take = await t
      .db('budget_takes')
      .where({ source: `redemption:${res.body.redemptionId}` })
      .first();
    assert.notEqual(take.given_back_at, null);
  });

  it('gift-card spend per month: refused past the limit in money', async () => {
    const card = await createReward(t, { kind: 'gift_card', pointsCost: 100, denomination: 25 });
    const start = (await used('giftcards.EUR.month', 'month')) / 100;
    await withBudgets({ giftCardSpend: { EUR: { perMonth: { limit: start + 50 } } } });
    const memberId = await memberWithPoints(t, 1000);
    const one = await redeem(t, { memberId, rewardId: card, redemptionId: randomUUID() });
    const two = await redeem(t, { memberId, rewardId: card, redemptionId: randomUUID() });
    assert.equal(one.body.hold?.outcome, 'held', JSON.stringify(one.body));
    assert.equal(two.body.hold?.outcome, 'held', JSON.stringify(two.body));
    const three = await redeem(t, { memberId, rewardId: card });
    assert.equal(three.status, 422, JSON.stringify(three.body));
    assert.equal(three.body.type, '/problems/budget-exhausted');
    const f = await figure('giftcards.EUR.month');
    assert.deepEqual([f.used, f.unit, f.state], [start + 50, 'EUR', 'exhausted']);
  });

  it('redemptions per campaign: every reward tagged with it counts, one past the limit refused', async () => {
    const campaign = `spring-${randomUUID().slice(0, 8)}`;
    const a = await createReward(t, { pointsCost: 100, onHand: 10, campaign });
    const b = await createReward(t, { pointsCost: 100, onHand: 10, campaign });
    const untagged = await createReward(t, { pointsCost: 100, onHand: 10 });
    await withBudgets({ campaigns: { [campaign]: { perDay: { limit: 2, warnAt: [50] } } } });
    const memberId = await memberWithPoints(t, 1000);
    const one = await redeem(t, { memberId, rewardId: a, redemptionId: randomUUID() });
    const two = await redeem(t, { memberId, rewardId: b, redemptionId: randomUUID() });
    assert.equal(one.body.hold?.outcome, 'held', JSON.stringify(one.body));
    assert.equal(two.body.hold?.outcome, 'held', JSON.stringify(two.body));
    const three = await redeem(t, { memberId, rewardId: a, redemptionId: randomUUID() });
    assert.equal(three.status, 422, JSON.stringify(three.body));
    assert.equal(three.body.type, '/problems/budget-exhausted');
    assert.match(three.body.detail, /campaign/);
    const other = await redeem(t, { memberId, rewardId: untagged, redemptionId: randomUUID() });
    assert.equal(other.body.hold?.outcome, 'held', 'a reward outside the campaign is not counted');
    const key = `campaign.${campaign}.day`;
    assert.equal(await used(key, 'day'), 2);
    const f = await figure(key);
    assert.deepEqual(
      [f.kind, f.campaign, f.used, f.limit, f.state, f.unit],
      ['campaignRedemptions', campaign, 2, 2, 'exhausted', 'redemptions'],
    );
    const reward = await t.api('GET', `/rewards/${a}`, { key: t.keys.readonly });
    assert.equal(reward.body.campaign, campaign);
  });
});
