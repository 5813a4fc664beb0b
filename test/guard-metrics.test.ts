/**
 * The monitoring window's guard metrics: figures measured for a launch's cohort (by hash and by
 * name), everyone else and the cohort's own baseline, over a programme seeded through the API and
 * the workflows (purchases under two versions, manual adjustments, gift-card redemptions one of
 * which fails by a fault injected at the provider), equal the same figures recomputed in plain
 * loops over the raw rows; and `judgeGuards` holding each metric exactly to its threshold.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createReadinessActivities } from '../activities/readiness';
import { breaches, judgeGuards, type Figures, type GuardPolicy } from '../domain/guard';
import { publishRuleSet } from '../ledger/programs';
import {
  closeCohort,
  generalVersion,
  inCohortByHash,
  openCohort,
  publishVersion,
} from '../ledger/releases';
import { startTestContext, uniqueId, type TestContext } from './support/context';
import { enrol, post, purchase } from './support/ledger';
import { freshDatabase, recomputeGuards } from './support/readiness';
import { createReward, redeem, redemptionProgram, waitForStatus } from './support/redemptions';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('guard figures', () => {
  let t: TestContext;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let activities: ReturnType<typeof createReadinessActivities>;

  before(async () => {
    // A database of its own: the figures cover every member, and the versions in force are ours.
    database = await freshDatabase();
    t = await startTestContext('guards', { DATABASE_URL: database.url }, { partners: {} });
    await publishRuleSet(t.db, redemptionProgram, { createdBy: 'test' });
    activities = createReadinessActivities({
      db: t.db,
      config: t.config,
      temporal: t.env.client,
    });
  });
  after(async () => {
    await t.stop();
    await database.drop();
  });

  it('guard figures equal a recomputation over cohort and other members', async () => {
    const launchId = uniqueId('launch');
    const base = await generalVersion(t.db);
    const doubled = { ...redemptionProgram.earning, pointsPerUnit: { EUR: 2 } };
    const version = await t.db.transaction((trx) =>
      publishVersion(trx, { ...redemptionProgram, earning: doubled }, { createdBy: 'test' }),
    );
    const percent = 50;
    const hashed: string[] = [];
    const others: string[] = [];
    while (hashed.length < 2 || others.length < 3) {
      const id = await enrol(t);
      (inCohortByHash(launchId, id, percent) ? hashed : others).push(id);
    }
    const named = others.pop()!; // outside by hash, named into the cohort
    const cohort = [...hashed, named];
    const spend = async (memberId: string, amount: number) => {
      const res = await post(t, purchase(memberId, [{ sku: 'tee', amount }]));
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.points.earned as number;
    };
    const adjust = async (memberId: string, points: number) => {
      const res = await t.api('POST', `/members/${memberId}/adjustments`, {
        key: t.keys.ops,
        body: { points, reason: 'guard test' },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    };

    // Before go-live: the cohort's baseline.
    const baselineFrom = new Date();
    for (const m of [...cohort, ...others]) await spend(m, 100);
    await adjust(hashed[0]!, 50);
    await sleep(20);
    const since = new Date();
    await sleep(20);
    await t.db.transaction((trx) =>
      openCohort(trx, { launchId, version, percent, members: [named] }),
    );
    try {
      // Since go-live: the cohort earns under the new version, the others under the old.
      for (const m of cohort) assert.equal(await spend(m, 40), 80);
      for (const m of others) assert.equal(await spend(m, 40), 40);
      await adjust(named, -10);
      await adjust(others[0]!, 20);
      // A gift card whose provider fails every try (the void then goes through): failed.
      const card = await createReward(t, { kind: 'gift_card', pointsCost: 100, denomination: 25 });
      t.partners!.giftcards.faults.set({ failNext: 3 });
      const failed = await redeem(t, { memberId: hashed[0], rewardId: card });
      assert.equal(failed.status, 201, JSON.stringify(failed.body));
      await waitForStatus(t, failed.body.redemptionId as string, 'failed');
      for (const memberId of [hashed[1], others[0]]) {
        const ok = await redeem(t, { memberId, rewardId: card });
        assert.equal(ok.status, 201, JSON.stringify(ok.body));
        await waitForStatus(t, ok.body.redemptionId as string, 'completed');
      }
      // An event recorded under the old version for a cohort member (the accrual batch's bug).
      await t.db('ledger_events').insert({
        id: uniqueId('evt'),
        member_id: hashed[1],
        type: 'purchase',
        order_id: uniqueId('ord'),
        request_hash: 'x',
        payload: '{}',
        response: '{}',
        rule_version: base,
        occurred_at: new Date(),
        created_at: new Date(),
      });
      await sleep(20);
      const at = new Date();

      const figures = await activities.guardFigures({
        launchId,
        cohort: { percent, members: [named] },
        since: since.toISOString(),
        baselineFrom: baselineFrom.toISOString(),
        at: at.toISOString(),
        expectedPerActiveMember: 80,
      });
      const expected = await recomputeGuards(t.db, {
        launchId,
        percent,
        named: [named],
        since,
        baselineFrom,
        at,
        versions: { cohort: version, rest: base },
      });
      assert.deepEqual(
        { cohort: figures.cohort, rest: figures.rest, baseline: figures.baseline },
        expected,
      );
      // What the window shows: one wrong-version accrual and one failed redemption in the cohort.
      assert.equal(figures.cohort.accrualErrors, 1);
      assert.equal(figures.rest.accrualErrors, 0);
      assert.equal(figures.cohort.redemptionFailures, 1);
      assert.equal(figures.cohort.redemptions, 2);
      assert.equal(figures.rest.redemptionFailures, 0);
      assert.ok(figures.cohort.members >= 3 && figures.baseline.members === figures.cohort.members);
      assert.equal(figures.baseline.manualAdjustments, expected.baseline.manualAdjustments);
      assert.ok(figures.baseline.manualAdjustments >= 1);
      assert.deepEqual(figures.expected, { pointsPerActiveMember: 80 });
      assert.match(figures.notes.join(' '), /anomalyAlerts: no anomaly detection exists yet/);

      const verdicts = judgeGuards(figures, {
        redemptionFailureRate: { threshold: 0.2, onBreach: 'rollback' },
        accrualErrors: { threshold: 1, onBreach: 'pause' },
        manualAdjustments: { threshold: 0, onBreach: 'pause', compareTo: 'rest' },
      });
      assert.deepEqual(
        verdicts.map((v) => [v.metric, v.breached]),
        [
          ['redemptionFailureRate', true],
          ['accrualErrors', false],
          ['manualAdjustments', figures.cohort.manualAdjustments > figures.rest.manualAdjustments],
        ],
      );
    } finally {
      await t.db.transaction((trx) => closeCohort(trx, launchId));
    }
  });
});

describe('judgeGuards', () => {
  const figures = (values: Partial<Figures>): Figures => ({
    members: 100,
    activeMembers: 10,
    accrualErrors: 0,
    redemptions: 10,
    redemptionFailures: 0,
    redemptionFailureRate: 0,
    pointsIssued: 1000,
    pointsPerActiveMember: 100,
    liabilityGrowth: 500,
    anomalyAlerts: 0,
    manualAdjustments: 0,
    ...values,
  });
  const judge = (
    cohort: Partial<Figures>,
    policy: GuardPolicy,
    others: { rest?: Partial<Figures>; baseline?: Partial<Figures> } = {},
    expected?: Partial<Figures> | null,
  ) =>
    judgeGuards(
      {
        cohort: figures(cohort),
        rest: figures(others.rest ?? {}),
        baseline: figures(others.baseline ?? {}),
      },
      policy,
      expected,
    );

  it('an absolute threshold is allowed; anything beyond it breaches', () => {
    const policy: GuardPolicy = { redemptionFailureRate: { threshold: 0.1, onBreach: 'rollback' } };
    const [at] = judge({ redemptionFailureRate: 0.1 }, policy);
    assert.deepEqual(at, {
      metric: 'redemptionFailureRate',
      value: 0.1,
      threshold: 0.1,
      compareTo: 'absolute',
      reference: null,
      breached: false,
      onBreach: 'rollback',
    });
    assert.equal(judge({ redemptionFailureRate: 0.1000001 }, policy)[0]!.breached, true);
    // 0.1 + 0.2 is 0.30000000000000004 in floating point: still exactly at a 0.3 threshold.
    const sum = { accrualErrors: { threshold: 0.3, onBreach: 'pause' as const } };
    assert.equal(judge({ accrualErrors: 0.1 + 0.2 }, sum)[0]!.breached, false);
    assert.equal(
      judge({ accrualErrors: 0 }, { accrualErrors: { threshold: 0, onBreach: 'pause' } })[0]!
        .breached,
      false,
    );
    assert.equal(
      judge({ accrualErrors: 1 }, { accrualErrors: { threshold: 0, onBreach: 'pause' } })[0]!
        .breached,
      true,
    );
  });

  it('relative to the baseline or the rest: the reference moved by the threshold', () => {
    const growth = {
      liabilityGrowth: { threshold: 0.5, onBreach: 'pause', compareTo: 'baseline' },
    } as const;
    const [at] = judge({ liabilityGrowth: 750 }, growth, { baseline: { liabilityGrowth: 500 } });
    assert.deepEqual(
      [at!.threshold, at!.reference, at!.breached, at!.compareTo],
      [750, 500, false, 'baseline'],
    );
    assert.equal(
      judge({ liabilityGrowth: 751 }, growth, { baseline: { liabilityGrowth: 500 } })[0]!.breached,
      true,
    );
    const rate = {
      redemptionFailureRate: { threshold: 1, onBreach: 'rollback', compareTo: 'rest' },
    } as const;
    assert.equal(
      judge({ redemptionFailureRate: 0.2 }, rate, { rest: { redemptionFailureRate: 0.1 } })[0]!
        .breached,
      false,
    );
    assert.equal(
      judge({ redemptionFailureRate: 0.21 }, rate, { rest: { redemptionFailureRate: 0.1 } })[0]!
        .breached,
      true,
    );
    // Nothing before: nothing above it is allowed.
    assert.equal(
      judge(
        { manualAdjustments: 1 },
        { manualAdjustments: { threshold: 3, onBreach: 'pause', compareTo: 'baseline' } },
      )[0]!.breached,
      true,
    );
  });

  it('points per active member against the simulation, either way by default', () => {
    const policy: GuardPolicy = { pointsPerActiveMember: { threshold: 0.2, onBreach: 'rollback' } };
    const expected = { pointsPerActiveMember: 100 };
    const verdict = (value: number) =>
      judge({ pointsPerActiveMember: value }, policy, {}, expected)[0]!;
    assert.deepEqual(
      [verdict(120).breached, verdict(120).compareTo, verdict(120).threshold],
      [false, 'expected', 120],
    );
    assert.equal(verdict(120.01).breached, true);
    assert.equal(verdict(80).breached, false);
    assert.equal(verdict(79.99).breached, true);
    const above = {
      pointsPerActiveMember: { threshold: 0.2, onBreach: 'rollback', direction: 'above' },
    } as const;
    assert.equal(judge({ pointsPerActiveMember: 10 }, above, {}, expected)[0]!.breached, false);
    // Without a simulation figure it is judged as an absolute threshold, or not at all if asked.
    const asked = {
      pointsPerActiveMember: { threshold: 0.2, onBreach: 'pause', compareTo: 'expected' },
    } as const;
    const unjudged = judge({ pointsPerActiveMember: 500 }, asked, {}, null)[0]!;
    assert.deepEqual(
      [unjudged.breached, unjudged.reference, unjudged.note],
      [false, null, 'no expected figure for pointsPerActiveMember: not judged'],
    );
  });

  it('breaches lists rollbacks before pauses', () => {
    const verdicts = judge(
      { manualAdjustments: 5, redemptionFailureRate: 0.5, accrualErrors: 0 },
      {
        manualAdjustments: { threshold: 1, onBreach: 'pause' },
        accrualErrors: { threshold: 0, onBreach: 'rollback' },
        redemptionFailureRate: { threshold: 0.1, onBreach: 'rollback' },
      },
    );
    assert.deepEqual(
      breaches(verdicts).map((v) => v.metric),
      ['redemptionFailureRate', 'manualAdjustments'],
    );
  });
});
