/**
 * `screenRedemption` against Postgres: what a redemption about to be held is screened for, each
 * finding recorded once (anomaly_findings + `anomaly.detected`), and nothing for an ordinary
 * member. Spikes are programme-wide, so the file has a database of its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { createDb, type Db } from '../infra/db';
import { publishRuleSet } from '../ledger/programs';
import { defaultProgram } from '../domain/program';
import { screenRedemption } from '../guardrails/redemption';
import { screenAccrual } from '../guardrails/accrual';
import { directReads } from '../guardrails/accrual-reads';
import { detectionSchema } from '../guardrails/policy';
import { freshDatabase } from './support/database';

const H = 3_600_000;
const now = new Date();
const ago = (ms: number) => new Date(now.getTime() - ms);

describe('redemption screen', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let db: Db;
  before(async () => {
    database = await freshDatabase('guardrails');
    db = createDb({ url: database.url, poolMax: 2 });
    await publishRuleSet(
      db,
      {
        ...defaultProgram,
        detection: {
          redemptionVelocity: [{ window: '1 hour', maxEvents: 2 }],
          newAccountRedemption: {
            accountYoungerThan: '7 days',
            accrualWithin: '1 day',
            minAccrualPoints: 5_000,
          },
          burstThenRedeem: { window: '30 minutes', minAccruals: 4 },
          redemptionSpike: { weeks: 2, factor: 3, minCount: 6 },
          unusualCountry: { minHistory: 3 },
        },
      },
      { createdBy: 'admin:test' },
    );
  });
  after(async () => {
    await db.destroy();
    await database.drop();
  });

  async function member(enrolledAt: Date): Promise<string> {
    const id = randomUUID();
    await db('members').insert({ id, external_id: `g-${id}`, enrolled_at: enrolledAt });
    return id;
  }
  async function accrue(
    memberId: string,
    points: number,
    at: Date,
    country = 'DE',
    where: { lat?: number; lon?: number } = {},
  ) {
    const id = `ev-${randomUUID()}`;
    await db.transaction(async (trx) => {
      await trx('ledger_entries').insert({
        member_id: memberId,
        kind: 'accrual',
        amount: points,
        available_delta: points,
        reason: 'test',
        actor: 'test',
        source_event_id: id,
        dedupe_key: `acc:${id}`,
        created_at: at,
      });
      await trx('ledger_events').insert({
        id,
        member_id: memberId,
        type: 'purchase',
        request_hash: id,
        payload: { country, ...where },
        response: {},
        rule_version: 1,
        occurred_at: at,
        created_at: at,
      });
    });
  }
  async function redemption(memberId: string, at: Date, rewardId = 'r1'): Promise<string> {
    const id = `red-${randomUUID()}`;
    await db('redemptions').insert({
      id,
      member_id: memberId,
      reward_id: rewardId,
      quantity: 1,
      request_hash: id,
      status: 'completed',
      actor: 'test',
      points: 100,
      created_at: at,
    });
    return id;
  }
  const screen = (memberId: string, redemptionId: string, extra = {}) =>
    screenRedemption(db, {
      redemptionId,
      memberId,
      rewardId: 'r-quiet',
      points: 100,
      at: now,
      ...extra,
    });

  it('an ordinary member redeeming: no findings, nothing recorded', async () => {
    const m = await member(ago(400 * 24 * H));
    for (let d = 1; d <= 5; d++) await accrue(m, 200, ago(d * 24 * H));
    assert.deepEqual(await screen(m, await redemption(m, now)), []);
    assert.equal((await db('anomaly_findings').where({ member_id: m })).length, 0);
  });

  it('a new account, a large accrual and a burst, then redemptions in a row', async () => {
    const m = await member(ago(2 * H));
    await accrue(m, 6_000, ago(H));
    for (let i = 1; i <= 4; i++) await accrue(m, 10, ago(i * 60_000));
    await redemption(m, ago(10 * 60_000));
    await redemption(m, ago(5 * 60_000));
    const id = await redemption(m, now);
    const findings = await screen(m, id, { country: 'BR' });
    assert.deepEqual(findings.map((f) => f.source).sort(), [
      'anomaly.burstThenRedeem',
      'anomaly.newAccountRedemption',
      'anomaly.redemptionVelocity',
      'anomaly.unusualCountry',
    ]);
    for (const f of findings) assert.ok(f.summary.length > 0 && f.details.threshold);
    // Screened again (a retried activity): recorded once.
    await screen(m, id, { country: 'BR' });
    const rows = await db('anomaly_findings').where({ member_id: m });
    assert.equal(rows.length, 4);
    const events = await db('program_events').where({ type: 'anomaly.detected', member_id: m });
    assert.equal(events.length, 4);
    assert.equal(events[0].payload.memberId, m);
  });

  it('a spike of one reward against the same hour of the past weeks', async () => {
    const m = await member(ago(400 * 24 * H));
    await redemption(m, ago(7 * 24 * H + 60_000), 'r-spike');
    await redemption(m, ago(14 * 24 * H + 60_000), 'r-spike');
    let last = '';
    for (let i = 0; i < 7; i++) last = await redemption(m, ago(i * 1000), 'r-spike');
    const findings = await screen(m, last, { rewardId: 'r-spike' });
    const spike = findings.filter((f) => f.source === 'anomaly.redemptionSpike');
    assert.ok(
      spike.some((f) => String(f.details.subject).startsWith('reward:r-spike@')),
      JSON.stringify(findings),
    );
  });

  it('the accrual screen: a burst of earning, and Berlin then Sydney within the hour', async () => {
    const d = detectionSchema.parse({
      earningVelocity: [{ window: '1 hour', maxEvents: 3 }],
      impossibleTravel: {},
    });
    const m = await member(ago(400 * 24 * H));
    for (let i = 1; i <= 3; i++)
      await accrue(m, 10, ago(i * 60_000), 'DE', { lat: 52.52, lon: 13.4 });
    const findings = await db.transaction((trx) =>
      screenAccrual(directReads(trx), d, {
        eventId: 'e-now',
        memberId: m,
        points: 10,
        at: now,
        context: { country: 'AU', lat: -33.87, lon: 151.21 },
      }),
    );
    assert.deepEqual(findings.map((f) => f.detector).sort(), [
      'earningVelocity',
      'impossibleTravel',
    ]);
    const off = await db.transaction((trx) =>
      screenAccrual(directReads(trx), detectionSchema.parse({}), {
        eventId: 'e-off',
        memberId: m,
        points: 10,
        at: now,
        context: {},
      }),
    );
    assert.deepEqual(off, []);
  });
});
