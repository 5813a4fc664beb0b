/**
 * A seeded programme for the model and, later, the engine: N members over Y years from 1 January
 * 2027 (so 29 February 2028 falls inside), with heavy, regular and light buyers, long inactivity
 * gaps, partial and full returns inside and outside the 30-day return window, redemptions and
 * cancellations, adjustments, closures, and three rule changes (multipliers, caps, expiry policy)
 * put in force on Tuesdays at 09:00 in Berlin (the launch window's first slot).
 * The same seed gives the same programme, event for event.
 */
import type { ModelEvent, ModelVersion, PurchaseLine } from './types';
import type { ModelMemberInput } from './runner';
import { defaultPublished, modelProgram } from './program';
import { MS } from './time';

/** mulberry32: small, fast, and the same sequence on every machine. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export const PROGRAMME_START = Date.UTC(2027, 0, 1);

/** The programme's versions: v1 at the start, then a multiplier, an expiry-policy and a caps change. */
export function programmeVersions(): ModelVersion[] {
  const v1 = modelProgram({
    ...defaultPublished,
    expiry: { policy: 'fixed', lotLifetime: '365 days', reminderBefore: '30 days' },
  });
  const v2 = {
    ...v1,
    channelMultipliers: { app: 2 },
    categoryMultipliers: { giftcards: 0, books: 0.5 },
  };
  const v3 = { ...v2, expiryPolicy: 'activity' as const, lotLifetime: '540 days' };
  const v4 = {
    ...v3,
    caps: { all: { perDay: 5000, perMonth: 30_000 }, byEventType: { review: { perMonth: 100 } } },
  };
  return [
    { version: 1, activeFrom: 0, program: v1 },
    { version: 2, activeFrom: Date.parse('2027-10-05T07:00:00Z'), program: v2 },
    { version: 3, activeFrom: Date.parse('2028-09-05T07:00:00Z'), program: v3 },
    { version: 4, activeFrom: Date.parse('2029-03-06T08:00:00Z'), program: v4 },
  ];
}

type Profile = 'heavy' | 'regular' | 'light';
const meanGapDays: Record<Profile, number> = { heavy: 4, regular: 18, light: 70 };
const categories = ['shoes', 'books', 'electronics', 'giftcards', 'home'];
const channels = ['web', 'app', 'store'];
/** Points costs of the rewards redeemed: one reward per cost when the engine is driven. */
export const rewardCosts = [250, 500, 1000, 2500, 5000] as const;

/** Instants chosen on purpose now and then: UTC midnight edges, month ends, 29 February. */
const edges = [
  '2027-03-28T00:59:59.999Z', // the night Berlin moves to summer time
  '2027-10-31T23:59:59.999Z',
  '2028-02-29T23:59:59.999Z',
  '2028-03-01T00:00:00.000Z',
  '2028-10-29T01:30:00.000Z', // the night Berlin moves back to winter time
  '2029-01-31T23:30:00.000Z',
].map(Date.parse);

export interface GeneratedProgramme {
  seed: number;
  start: number;
  end: number;
  versions: ModelVersion[];
  members: ModelMemberInput[];
}

export function generateProgramme(options: {
  seed: number;
  members: number;
  years: number;
}): GeneratedProgramme {
  const random = rng(options.seed);
  const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const start = PROGRAMME_START;
  const end = Date.UTC(2027 + options.years, 0, 1);
  const members: ModelMemberInput[] = [];
  for (let n = 0; n < options.members; n++) {
    const memberId = `m${String(n).padStart(5, '0')}`;
    const profile: Profile = pick(['heavy', 'regular', 'regular', 'light', 'light', 'light']);
    const enrolledAt = start + Math.floor(random() * (end - start) * 0.3);
    const closesAt = random() < 0.03 ? between(enrolledAt, end - MS.DAY) : null;
    const events: ModelEvent[] = [];
    let seq = 0;
    const id = (what: string): string => `${memberId}-${what}${++seq}`;
    let at = enrolledAt + between(1, 72) * MS.HOUR;
    while (at < end && (closesAt === null || at < closesAt)) {
      const roll = random();
      if (roll < 0.78) {
        const lines: PurchaseLine[] = Array.from({ length: between(1, 3) }, (_, i) => ({
          sku: `sku-${i}-${between(1, 50)}`,
          category: pick(categories),
          quantity: between(1, 3),
          cents: between(500, 30_000),
        }));
        const orderId = id('o');
        events.push({
          kind: 'purchase',
          at,
          eventId: id('p'),
          orderId,
          currency: 'EUR',
          channel: pick(channels),
          country: 'DE',
          lines,
        });
        if (random() < 0.15) {
          const full = random() < 0.4;
          const returned = lines
            .filter((_, i) => full || i === 0)
            .map((l) => ({ sku: l.sku, quantity: full ? l.quantity : between(1, l.quantity) }));
          events.push({
            kind: 'return',
            at: at + between(1, 45) * MS.DAY + between(0, 3600_000),
            eventId: id('r'),
            orderId,
            lines: returned,
          });
        }
      } else if (roll < 0.86) {
        events.push({
          kind: 'fixed',
          at,
          eventId: id('f'),
          type: pick(['review', 'review', 'referral']),
        });
      } else if (roll < 0.95) {
        // A hold the member cannot afford is refused (about 2 % of events); its redeem or release
        // then answers NoHold in the model, and the engine driver does not send it.
        const hold = id('h');
        events.push({ kind: 'hold', at, id: hold, points: pick(rewardCosts) });
        const later = at + between(1, 10) * MS.DAY;
        events.push(
          random() < 0.85
            ? { kind: 'redeem', at: later, id: hold }
            : { kind: 'release', at: later, id: hold },
        );
      } else {
        events.push({
          kind: 'adjustment',
          at,
          id: id('a'),
          points: random() < 0.75 ? between(1, 20) * 25 : -between(1, 8) * 25,
        });
      }
      let gap = -Math.log(1 - random()) * meanGapDays[profile] * MS.DAY;
      if (random() < 0.01) gap += between(200, 420) * MS.DAY; // a long silence
      at += Math.max(MS.MINUTE, Math.round(gap));
      if (random() < 0.005) {
        const edge = edges.find((e) => e > at);
        if (edge !== undefined) at = edge;
      }
    }
    if (closesAt !== null) events.push({ kind: 'close', at: closesAt });
    members.push({
      memberId,
      enrolledAt,
      events: events
        .filter((e) => e.at < end && (closesAt === null || e.at <= closesAt))
        .sort((a, b) => a.at - b.at),
    });
  }
  return { seed: options.seed, start, end, versions: programmeVersions(), members };
}
