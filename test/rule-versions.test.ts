/**
 * In-flight work keeps its version, and each member is decided under the version in force for it:
 * a redemption or return started before a change finishes under the version it started with; with
 * a cohort open on a new version, a cohort member earns under it and anyone else under the old,
 * in the same accrual batch. Every test puts the versions back as it found them (the database is
 * shared by all test files).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { defaultProgram, type ProgramInput } from '../domain/program';
import { recordEarningBatch } from '../ledger/accrual-batch';
import { grantBatch } from '../ledger/grants';
import { reviewMember } from '../ledger/lifecycle';
import type { EventAnswer } from '../ledger/activity';
import { publishRuleSet } from '../ledger/programs';
import {
  closeCohort,
  cohortBucket,
  generalVersion,
  inCohortByHash,
  openCohort,
  publishVersion,
  setGeneralVersion,
} from '../ledger/releases';
import { eventually, startTestContext, uniqueId, type TestContext } from './support/context';
import { enrol, post, purchase } from './support/ledger';
import {
  createReward,
  memberWithPoints,
  redeem,
  redemptionProgram,
  waitForStatus,
} from './support/redemptions';

type Tier = NonNullable<ProgramInput['tiers']>[number];

interface RedemptionView {
  status: string;
  slaDeadline: string | null;
  slaBreached: boolean;
  timeline: { step: string; at: string; detail: Record<string, unknown> }[];
}

interface MemberView {
  tier: { benefits: { fulfilmentPriority: number } };
}

/** The redemption test program with a Gold tier of these benefits and this redemption policy. */
const withGold = (
  gold: Tier['benefits'],
  redemption: Partial<NonNullable<ProgramInput['redemption']>>,
): ProgramInput => ({
  ...redemptionProgram,
  tiers: [
    { name: 'Member', qualifyingPoints: 0 },
    { name: 'Gold', qualifyingPoints: 1000, benefits: gold },
  ],
  redemption: { ...redemptionProgram.redemption!, ...redemption },
});

describe('rule versions: in-flight work keeps its version', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext(
      'rule-versions',
      {},
      { partners: { warehouse: { autoDeliver: false } } },
    );
  });
  after(async () => {
    await t.stop();
  });

  const publish = async (program: ProgramInput): Promise<number> =>
    (await publishRuleSet(t.db, program, { createdBy: 'test:rule-versions' })).version;
  const writeVersion = (program: ProgramInput): Promise<number> =>
    t.db.transaction((trx) => publishVersion(trx, program, { createdBy: 'test:rule-versions' }));

  /** Runs `test`, then puts back the general version in force before it (and ends any cohort). */
  const restoring = async (test: () => Promise<void>): Promise<void> => {
    const previous = await generalVersion(t.db);
    try {
      await test();
    } finally {
      await t.db.transaction((trx) => setGeneralVersion(trx, previous));
    }
  };

  /** Redeems `sku` and waits until the warehouse has the shipment. */
  const requested = async (memberId: string, sku: string): Promise<string> => {
    const res = await redeem(t, { memberId, rewardId: sku });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.redemptionId as string;
  };
  const accepted = async (id: string) => {
    await waitForStatus(t, id, 'shipment_requested');
    return eventually('the warehouse to accept', () =>
      t.partners!.warehouse.list().find((s) => s.shipmentId === id),
    );
  };

  it('a redemption started before a change finishes under its own version', async () => {
    await restoring(async () => {
      const old = await publish(
        withGold(
          { serviceRecoveryCredit: 200, fulfilmentPriority: 5 },
          { deliverySla: '3 seconds', lostAfter: '2 minutes' },
        ),
      );
      const memberId = await enrol(t);
      const earned = await post(t, purchase(memberId, [{ sku: 'tv', amount: 1000 }]));
      assert.equal(earned.status, 201, JSON.stringify(earned.body));
      assert.equal(earned.body.tier, 'Gold');
      const sku = await createReward(t, { pointsCost: 100, onHand: 2 });
      const id = await requested(memberId, sku);

      // A new version in force for everyone before the workflow even plans, let alone ships.
      const next = await publish(
        withGold(
          { serviceRecoveryCredit: 0, fulfilmentPriority: 9 },
          { deliverySla: '1 hour', lostAfter: '2 hours' },
        ),
      );
      assert.equal(await generalVersion(t.db), next);

      const shipment = await accepted(id);
      assert.equal(shipment.priority, 5, 'shipped with the priority of its own version');
      t.partners!.warehouse.ship(id);
      const breached = await eventually(
        'the SLA breach',
        async () => {
          const res = await t.api('GET', `/redemptions/${id}`);
          const step = res.body.timeline?.find((s: { step: string }) => s.step === 'sla_breached');
          return step ? (res.body as RedemptionView) : undefined;
        },
        30_000,
      );
      const at = (step: string) => breached.timeline.find((s) => s.step === step)!;
      assert.equal(at('sla_breached').detail.credited, 200, 'the old version’s credit');
      assert.equal(at('sla_breached').detail.slaMs, 3000);
      const deadline = new Date(Date.parse(at('shipped').at) + 3000).toISOString();
      assert.equal(breached.status, 'shipped');
      assert.equal(breached.slaDeadline, deadline, 'its own SLA, not the hour now in force');
      assert.equal(breached.slaBreached, true);

      const queue = await t.api('GET', `/redemptions?memberId=${memberId}`);
      assert.equal(queue.status, 200, JSON.stringify(queue.body));
      const row = queue.body.redemptions.find(
        (r: { redemptionId: string }) => r.redemptionId === id,
      );
      assert.equal(row.slaDeadline, deadline, 'the queue tells the same deadline');
      assert.equal(row.atRisk, true);
      const counts = await t.api('GET', `/redemptions/counts?memberId=${memberId}&atRisk=true`);
      assert.equal(counts.status, 200, JSON.stringify(counts.body));
      assert.equal(counts.body.atRisk, 1, 'at risk by its own SLA in the counts too');

      const credit = await t
        .db<{
          member_id: string;
          kind: string;
          reason: string;
          amount: number;
          rule_version: number;
        }>('ledger_entries')
        .where({ member_id: memberId, kind: 'adjustment' })
        .whereLike('reason', `service recovery: redemption ${id}%`);
      assert.deepEqual(
        credit.map((c) => [c.amount, c.rule_version]),
        [[200, old]],
      );
      t.partners!.warehouse.deliver(id);
      await waitForStatus(t, id, 'completed');
      const member = await t.api('GET', `/members/${memberId}`);
      assert.equal(member.body.balance.available, 1000 - 100 + 200);
      const stored = await t.db('redemptions').where({ id }).first('rule_version');
      assert.equal(stored.rule_version, old);
    });
  });

  it('a return asked for before a change refunds on its own version’s timing', async () => {
    await restoring(async () => {
      const slow = { returnWindow: '1 hour', returnRefundAfter: '1 hour' };
      await publish(withGold({}, slow));
      const memberId = await memberWithPoints(t, 1000);
      const sku = await createReward(t, { pointsCost: 300, onHand: 2 });
      const id = await requested(memberId, sku);
      await accepted(id);
      t.partners!.warehouse.ship(id);
      t.partners!.warehouse.deliver(id);
      await waitForStatus(t, id, 'completed');

      // The version in force as the return is asked for refunds after a second...
      const quick = await publish(withGold({}, { ...slow, returnRefundAfter: '1 second' }));
      const res = await t.api('POST', `/redemptions/${id}/return`, {
        key: t.keys.ops,
        body: { reason: 'did not fit' },
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      // ...and a slow one is in force by the time the return workflow plans the refund.
      await publish(withGold({}, slow));

      const done = await waitForStatus(t, id, 'refunded', 20_000);
      const returned = done.timeline.find((s: { step: string }) => s.step === 'returned');
      assert.equal(returned.detail.refundAfterMs, 1000);
      const member = await t.api('GET', `/members/${memberId}`);
      assert.equal(member.body.balance.available, 1000);
      const stored = await t.db('redemptions').where({ id }).first('return_rule_version');
      assert.equal(stored.return_rule_version, quick);
    });
  });

  it('with a cohort open, a cohort member earns under the new version, others under the old, in one batch', async () => {
    const launchId = `test-launch-${randomUUID()}`;
    await restoring(async () => {
      const instant = {
        ...defaultProgram.earning,
        pendingPeriod: undefined,
        caps: { all: {}, byEventType: {} },
      };
      const old = await publish({
        ...defaultProgram,
        earning: { ...instant, pointsPerUnit: { EUR: 1 }, channelMultipliers: {} },
      });
      // Written, not in force: only the cohort gets it.
      const next = await writeVersion({
        ...defaultProgram,
        earning: { ...instant, pointsPerUnit: { EUR: 3 }, channelMultipliers: {} },
        tiers: [
          { name: 'Member', qualifyingPoints: 0, benefits: { fulfilmentPriority: 7 } },
          ...defaultProgram.tiers.slice(1),
        ],
      });
      assert.equal(await generalVersion(t.db), old);

      const named = await enrol(t);
      let hashed: string | undefined;
      let other: string | undefined;
      for (let i = 0; i < 80 && !(hashed && other); i++) {
        const id = await enrol(t);
        if (inCohortByHash(launchId, id, 20)) hashed ??= id;
        else other ??= id;
      }
      assert.ok(hashed && other, 'members on both sides of a 20 % cohort');
      await t.db.transaction((trx) =>
        openCohort(trx, { launchId, version: next, percent: 20, members: [named] }),
      );
      try {
        const events = [named, hashed, other].map((memberId) => ({
          event: purchase(memberId, [{ sku: 'book', amount: 100 }]) as never,
          actor: 'partner:test',
        }));
        const outcomes = await recordEarningBatch(t.db, events);
        const answers = outcomes.map((o) => {
          assert.ok('result' in o, JSON.stringify(o));
          return o.result.body as EventAnswer & { points: { earned: number } };
        });
        assert.deepEqual(
          answers.map((a) => [a.memberId, a.ruleVersion, a.points.earned]),
          [
            [named, next, 300],
            [hashed, next, 300],
            [other, old, 100],
          ],
        );
        // One batch: one transaction time on every entry, each entry with its own version.
        const entries = await t
          .db<{ member_id: string; rule_version: number; created_at: Date }>('ledger_entries')
          .whereIn(
            'source_event_id',
            events.map((e) => (e.event as { eventId: string }).eventId),
          );
        assert.equal(new Set(entries.map((e) => e.created_at.getTime())).size, 1);
        assert.deepEqual(
          new Map(entries.map((e) => [e.member_id, e.rule_version])),
          new Map([
            [named, next],
            [hashed, next],
            [other, old],
          ]),
        );

        // Through the API as well: the answer and the member's view say which version.
        const viaApi = await Promise.all(
          [named, hashed, other].map((m) => post(t, purchase(m, [{ sku: 'pen', amount: 10 }]))),
        );
        assert.deepEqual(
          viaApi.map((r): unknown[] => [r.status, r.body.ruleVersion, r.body.points.earned]),
          [
            [201, next, 30],
            [201, next, 30],
            [201, old, 10],
          ],
        );
        const views = await Promise.all(
          [named, other].map((m) =>
            t.api('GET', `/members/${m}`).then((r) => r.body as MemberView),
          ),
        );
        assert.deepEqual(
          views.map((v) => v.tier.benefits.fulfilmentPriority),
          [7, 0],
          'the member view reads the member’s own version',
        );
      } finally {
        await t.db.transaction((trx) => closeCohort(trx, launchId));
      }
      // Closed: everyone is back on the general version.
      const back = await post(t, purchase(named, [{ sku: 'mug', amount: 10 }]));
      assert.deepEqual([back.body.ruleVersion, back.body.points.earned], [old, 10]);
    });
  });

  it('grants, adjustments and lifecycle reviews decide each member under its own version', async () => {
    const launchId = uniqueId('named-launch');
    await restoring(async () => {
      const old = await publish({ ...defaultProgram, dormancy: { after: '180 days' } });
      const next = await writeVersion({
        ...defaultProgram,
        dormancy: { after: '1 second' },
        expiry: { ...defaultProgram.expiry, lotLifetime: '10 days' },
      });
      const [named, other] = [await enrol(t), await enrol(t)];
      await t.db.transaction((trx) =>
        openCohort(trx, { launchId, version: next, percent: 0, members: [named] }),
      );
      try {
        const externalIds = new Map(
          (await t.db('members').whereIn('id', [named, other]).select('id', 'external_id')).map(
            (m: { id: string; external_id: string }) => [m.id, m.external_id],
          ),
        );
        const now = new Date();
        const granted = await grantBatch(
          t.db,
          [named, other].map((m) => ({
            grantId: uniqueId('grant'),
            externalId: externalIds.get(m)!,
            points: 50,
            reason: 'welcome',
            actor: 'test:rule-versions',
          })),
          now,
        );
        const lots = await t
          .db('lots as l')
          .join('ledger_entries as e', 'e.id', 'l.entry_id')
          .whereIn(
            'e.id',
            granted.map((g) => ('entryId' in g ? g.entryId : -1)),
          )
          .select('l.member_id', 'l.expires_at', 'e.rule_version');
        const day = 24 * 3600 * 1000;
        const byMember = new Map(
          lots.map((l: { member_id: string; expires_at: Date; rule_version: number }) => [
            l.member_id,
            [l.rule_version, Math.round((l.expires_at.getTime() - now.getTime()) / day)],
          ]),
        );
        assert.deepEqual(byMember.get(named), [next, 10], 'the cohort’s lot lifetime');
        assert.deepEqual(byMember.get(other), [old, 730], 'the general lot lifetime');

        const adjusted = await t.api('POST', `/members/${named}/adjustments`, {
          body: { points: 5, reason: 'goodwill' },
        });
        assert.equal(adjusted.status, 201, JSON.stringify(adjusted.body));
        const ledger = await t.api('GET', `/members/${named}/ledger`);
        const goodwill = ledger.body.entries.find(
          (e: { reason: string }) => e.reason === 'goodwill',
        ) as { ruleVersion: number };
        assert.equal(goodwill.ruleVersion, next);

        // A review a few seconds on: dormant after a second under the cohort's version only.
        const asOf = new Date(Date.now() + 5000);
        const [cohortReview, otherReview] = [
          await reviewMember(t.db, named, asOf),
          await reviewMember(t.db, other, asOf),
        ];
        // (Its lifecycle workflow, reviewing under the same version, may have got there first.)
        assert.equal(cohortReview.status, 'dormant');
        assert.equal(otherReview.status, 'active');
      } finally {
        await t.db.transaction((trx) => closeCohort(trx, launchId));
      }
    });
  });

  it('loyalty_cohort_bucket in SQL equals cohortBucket in TypeScript', async () => {
    const salt = fc.oneof(
      fc.uuid().map((u) => `launch-${u}`),
      fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes('\u0000')),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(salt, fc.uuid()), { minLength: 1, maxLength: 200 }),
        async (pairs) => {
          const { rows } = await t.db.raw<{ rows: { bucket: number }[] }>(
            `SELECT loyalty_cohort_bucket(s, m::text) AS bucket
             FROM unnest(?::text[], ?::uuid[]) WITH ORDINALITY AS p(s, m, n) ORDER BY n`,
            [pairs.map(([s]) => s), pairs.map(([, m]) => m)],
          );
          assert.deepEqual(
            rows.map((r) => r.bucket),
            pairs.map(([s, m]) => cohortBucket(s, m)),
          );
        },
      ),
      { numRuns: 50 },
    );
    // And a member's version follows the same bucket: under the percentage, the cohort's.
    const launchId = uniqueId('bucket-launch');
    await restoring(async () => {
      const general = await generalVersion(t.db);
      const cohortVersion = await writeVersion(defaultProgram);
      const members = await Promise.all(Array.from({ length: 12 }, () => enrol(t)));
      await t.db.transaction((trx) =>
        openCohort(trx, { launchId, version: cohortVersion, percent: 50 }),
      );
      try {
        const { rows } = await t.db.raw<{ rows: { id: string; version: number }[] }>(
          `SELECT id, loyalty_rule_version(id) AS version FROM unnest(?::uuid[]) AS m(id)`,
          [members],
        );
        for (const { id, version } of rows) {
          assert.equal(
            version,
            inCohortByHash(launchId, id, 50) ? cohortVersion : general,
            `member ${id}`,
          );
        }
      } finally {
        await t.db.transaction((trx) => closeCohort(trx, launchId));
      }
    });
  });
});
