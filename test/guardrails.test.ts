/**
 * The anomaly detectors (guardrails/), pure: each fires on a crafted pattern, and none fires on a
 * stream of ordinary random traffic (seeded; the seed is printed so a failure can be replayed
 * with GUARDRAILS_SEED). The redemption screen against Postgres is guardrails-screen.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  burstThenRedeem,
  earningVelocity,
  impossibleTravel,
  linkedAccounts,
  newAccountRedemption,
  redemptionSpike,
  redemptionVelocity,
  unusualCountry,
  type Activity,
  type Finding,
} from '../guardrails/detectors';
import { distanceKm, eventContextSchema } from '../guardrails/geo';
import { detectionSchema, type Detection } from '../guardrails/policy';
import { programSchema, defaultProgram } from '../domain/program';

const H = 3_600_000;
const now = new Date('2026-12-05T12:00:00Z');
const ago = (ms: number): Date => new Date(now.getTime() - ms);
const c = { memberId: 'm1', subject: 'event:e1', now };
const berlin = { lat: 52.52, lon: 13.405 };
const sydney = { lat: -33.8688, lon: 151.2093 };

const policy: Detection = detectionSchema.parse({
  earningVelocity: [
    { window: '1 hour', maxPoints: 5_000, maxEvents: 10 },
    { window: '1 day', maxPoints: 20_000, maxEvents: 40 },
  ],
  redemptionVelocity: [
    { window: '1 hour', maxEvents: 3 },
    { window: '1 day', maxPoints: 50_000 },
  ],
  newAccountRedemption: {
    accountYoungerThan: '7 days',
    accrualWithin: '1 day',
    minAccrualPoints: 5_000,
  },
  burstThenRedeem: { window: '30 minutes', minAccruals: 5 },
  redemptionSpike: { weeks: 4, factor: 3, minCount: 20 },
  unusualCountry: { minHistory: 10, maxShare: 0 },
  impossibleTravel: { maxKmPerHour: 900, minKm: 100 },
  linkedAccounts: { maxMembersPerDevice: 3, maxMembersPerAddress: 5 },
});

const accruals = (n: number, every: number, points: number, extra: Partial<Activity> = {}) =>
  Array.from({ length: n }, (_, i) => ({ at: ago(i * every), points, ...extra }));

describe('anomaly detectors: each fires on its pattern', () => {
  it('policy: absent is off; a programme without `detection` parses with none', () => {
    assert.deepEqual(programSchema.parse(defaultProgram).detection, {});
    const off = detectionSchema.parse({});
    assert.deepEqual(earningVelocity(off, accruals(100, 1000, 1000), c), []);
    assert.deepEqual(redemptionSpike(off, { current: 1e6, baseline: [0] }, c), []);
  });

  it('earning velocity: points and events per hour and per day, with what was seen', () => {
    const [hour] = earningVelocity(policy, accruals(11, 60_000, 10), c);
    assert.equal(hour?.detector, 'earningVelocity');
    assert.deepEqual(hour?.seen, { points: 110, events: 11, window: '1 hour' });
    assert.match(hour.why, /11 events > 10 in 1 hour/);
    const day = earningVelocity(policy, accruals(21, H, 1_000), c);
    assert.deepEqual(
      day.map((f) => f.seen.window),
      ['1 day'],
    );
    assert.equal(earningVelocity(policy, accruals(10, 60_000, 400), c).length, 0);
  });

  it('redemption velocity: a burst of redemptions, or points spent per day', () => {
    assert.equal(redemptionVelocity(policy, accruals(4, 60_000, 100), c).length, 1);
    const [spent] = redemptionVelocity(policy, accruals(3, 4 * H, 20_000), c);
    assert.match(spent!.why, /60000 points > 50000 in 1 day/);
  });

  it('a new account redeeming soon after a large accrual; an old one does not fire', () => {
    const input = { enrolledAt: ago(2 * H), accruals: [{ at: ago(H), points: 8_000 }] };
    const [f] = newAccountRedemption(policy, input, c);
    assert.equal(f?.seen.largestAccrual, 8_000);
    assert.deepEqual(
      newAccountRedemption(policy, { ...input, enrolledAt: ago(30 * 24 * H) }, c),
      [],
    );
    const small = { ...input, accruals: [{ at: ago(H), points: 4_999 }] };
    assert.deepEqual(newAccountRedemption(policy, small, c), []);
  });

  it('a redemption right after a burst of accruals', () => {
    assert.equal(burstThenRedeem(policy, accruals(5, 5 * 60_000, 10), c).length, 1);
    assert.equal(burstThenRedeem(policy, accruals(5, 10 * 60_000, 10), c).length, 0);
  });

  it('programme redemption spike against the same hour of past weeks', () => {
    const [f] = redemptionSpike(policy, { current: 40, baseline: [10, 12, 8, 10] }, c);
    assert.equal(f?.seen.baselineMean, 10);
    assert.deepEqual(redemptionSpike(policy, { current: 29, baseline: [10, 12, 8, 10] }, c), []);
    assert.deepEqual(redemptionSpike(policy, { current: 19, baseline: [0, 0, 0, 0] }, c), []);
  });

  it("a country unlike the member's usual ones", () => {
    const history = [...Array(8).fill('DE'), 'AT', 'AT'] as string[];
    const [f] = unusualCountry(policy, { country: 'BR', history }, c);
    assert.deepEqual(f?.seen.usual, ['AT', 'DE']);
    assert.deepEqual(unusualCountry(policy, { country: 'AT', history }, c), []);
    assert.deepEqual(unusualCountry(policy, { country: 'BR', history: history.slice(1) }, c), []);
  });

  it('impossible travel: Berlin then Sydney an hour later; not by plane over a day', () => {
    assert.equal(Math.round(distanceKm(berlin, sydney) / 100), 161); // ~16,090 km
    const current = { at: now, points: 1, ...sydney };
    const [f] = impossibleTravel(
      policy,
      { current, previous: { at: ago(H), points: 1, ...berlin } },
      c,
    );
    assert.ok((f?.seen.kmPerHour as number) > 15_000);
    const slow = { at: ago(24 * H), points: 1, ...berlin };
    assert.deepEqual(impossibleTravel(policy, { current, previous: slow }, c), []);
    const near = { at: ago(60_000), points: 1, lat: 52.4, lon: 13.1 }; // Potsdam: under minKm
    assert.deepEqual(
      impossibleTravel(policy, { current: { ...current, ...berlin }, previous: near }, c),
      [],
    );
  });

  it('linked accounts: many members on one device or address', () => {
    assert.equal(linkedAccounts(policy, { kind: 'device', key: 'd1', members: 4 }, c).length, 1);
    assert.equal(linkedAccounts(policy, { kind: 'device', key: 'd1', members: 3 }, c).length, 0);
    assert.equal(linkedAccounts(policy, { kind: 'address', key: 'a', members: 6 }, c).length, 1);
  });

  it('event context is validated: country code, lat/lon ranges, both or neither', () => {
    assert.ok(eventContextSchema.safeParse({ country: 'DE', ...berlin, deviceId: 'x' }).success);
    for (const bad of [{ country: 'de' }, { lat: 91, lon: 0 }, { lat: 0, lon: 181 }, { lat: 1 }])
      assert.equal(eventContextSchema.safeParse(bad).success, false, JSON.stringify(bad));
  });
});

/** mulberry32: small, seedable, good enough for traffic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('anomaly detectors: ordinary traffic', () => {
  it('none fires on a seeded stream of ordinary random members over four weeks', () => {
    const seed = Number(process.env.GUARDRAILS_SEED ?? Date.now() % 2 ** 31);
    console.log(`guardrails false-positive check: GUARDRAILS_SEED=${seed}`);
    const random = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const homes = [
      { country: 'DE', lat: 52.52, lon: 13.4 },
      { country: 'FR', lat: 48.86, lon: 2.35 },
      { country: 'GB', lat: 51.51, lon: -0.13 },
      { country: 'US', lat: 40.71, lon: -74.0 },
    ];
    const findings: Finding[] = [];
    const start = now.getTime() - 28 * 24 * H;
    for (let m = 0; m < 300; m++) {
      const home = pick(homes);
      const memberId = `m${m}`;
      const enrolledAt = new Date(start - random() * 365 * 24 * H);
      // An ordinary member: a purchase every one to four days, 10-400 points, at home
      // (a few km around it); a redemption now and then.
      const history: Activity[] = [];
      const countries: string[] = [];
      let t = start + random() * 24 * H;
      while (t < now.getTime()) {
        const at = new Date(t);
        const event: Activity = {
          at,
          points: 10 + Math.floor(random() * 390),
          country: home.country,
          lat: home.lat + (random() - 0.5) * 0.2,
          lon: home.lon + (random() - 0.5) * 0.2,
        };
        const ctx = { memberId, subject: `event:${m}:${t}`, now: at };
        findings.push(...earningVelocity(policy, [...history, event], ctx));
        findings.push(
          ...impossibleTravel(policy, { current: event, previous: history.at(-1) }, ctx),
        );
        findings.push(
          ...unusualCountry(policy, { country: home.country, history: countries }, ctx),
        );
        history.push(event);
        countries.push(home.country);
        if (random() < 0.1) {
          const rctx = { ...ctx, subject: `redemption:${m}:${t}`, now: new Date(t + H) };
          findings.push(...redemptionVelocity(policy, [{ at: rctx.now, points: 2_000 }], rctx));
          findings.push(...burstThenRedeem(policy, history, rctx));
          findings.push(...newAccountRedemption(policy, { enrolledAt, accruals: history }, rctx));
        }
        t += (1 + random() * 3) * 24 * H;
      }
      findings.push(
        ...linkedAccounts(
          policy,
          { kind: 'device', key: memberId, members: 1 + Math.floor(random() * 2) },
          { memberId, subject: `event:${memberId}`, now },
        ),
      );
    }
    // The programme: 5-15 redemptions an hour, same hour over four weeks.
    for (let hour = 0; hour < 24 * 7; hour++) {
      const n = () => 5 + Math.floor(random() * 11);
      findings.push(
        ...redemptionSpike(policy, { current: n(), baseline: [n(), n(), n(), n()] }, c),
      );
    }
    assert.deepEqual(
      findings.map((f) => `${f.detector}: ${f.why}`),
      [],
      `seed ${seed}`,
    );
  });
});
