/**
 * The detectors, pure: each takes what the member (or programme) did recently and the policy,
 * and returns the findings it fires, with what was seen, the threshold and why. The queries that
 * gather their input live beside them (queries.ts); recording is findings.ts.
 */
import { distanceKm } from './geo';
import { durationMs, type Detection, type Velocity } from './policy';

export const detectorNames = [
  'earningVelocity',
  'redemptionVelocity',
  'newAccountRedemption',
  'burstThenRedeem',
  'redemptionSpike',
  'unusualCountry',
  'impossibleTravel',
  'linkedAccounts',
] as const;

export type DetectorName = (typeof detectorNames)[number];

export interface Finding {
  detector: DetectorName;
  memberId?: string;
  /** What it is about: an event id, a redemption id, a reward, a device. */
  subject: string;
  seen: Record<string, unknown>;
  threshold: Record<string, unknown>;
  why: string;
  at: Date;
}

/** One accrual or redemption, as the detectors need it. */
export interface Activity {
  at: Date;
  points: number;
  country?: string;
  lat?: number;
  lon?: number;
}

const within = (items: Activity[], now: Date, windowMs: number) =>
  items.filter((a) => a.at.getTime() > now.getTime() - windowMs && a.at <= now);

function velocity(
  detector: 'earningVelocity' | 'redemptionVelocity',
  rules: Velocity[] | undefined,
  items: Activity[],
  c: { memberId: string; subject: string; now: Date },
): Finding[] {
  const out: Finding[] = [];
  for (const rule of rules ?? []) {
    const recent = within(items, c.now, durationMs(rule.window));
    const points = recent.reduce((s, a) => s + a.points, 0);
    const events = recent.length;
    const over: string[] = [];
    if (rule.maxPoints !== undefined && points > rule.maxPoints)
      over.push(`${points} points > ${rule.maxPoints}`);
    if (rule.maxEvents !== undefined && events > rule.maxEvents)
      over.push(`${events} events > ${rule.maxEvents}`);
    if (over.length)
      out.push({
        detector,
        memberId: c.memberId,
        subject: c.subject,
        seen: { points, events, window: rule.window },
        threshold: { ...rule },
        why: `${over.join(', ')} in ${rule.window}`,
        at: c.now,
      });
  }
  return out;
}

/** Per member earning velocity; `accruals` includes the event being judged. */
export const earningVelocity = (
  d: Detection,
  accruals: Activity[],
  c: { memberId: string; subject: string; now: Date },
) => velocity('earningVelocity', d.earningVelocity, accruals, c);

/** Per member redemption velocity; `redemptions` includes the one being judged. */
export const redemptionVelocity = (
  d: Detection,
  redemptions: Activity[],
  c: { memberId: string; subject: string; now: Date },
) => velocity('redemptionVelocity', d.redemptionVelocity, redemptions, c);

export function newAccountRedemption(
  d: Detection,
  input: { enrolledAt: Date; accruals: Activity[] },
  c: { memberId: string; subject: string; now: Date },
): Finding[] {
  const rule = d.newAccountRedemption;
  if (!rule) return [];
  const age = c.now.getTime() - input.enrolledAt.getTime();
  if (age >= durationMs(rule.accountYoungerThan)) return [];
  const large = within(input.accruals, c.now, durationMs(rule.accrualWithin)).filter(
    (a) => a.points >= rule.minAccrualPoints,
  );
  if (large.length === 0) return [];
  const biggest = Math.max(...large.map((a) => a.points));
  return [
    {
      detector: 'newAccountRedemption',
      memberId: c.memberId,
      subject: c.subject,
      seen: { accountAgeMs: age, largestAccrual: biggest },
      threshold: { ...rule },
      why: `account ${Math.round(age / 60_000)} min old redeems after an accrual of ${biggest} points`,
      at: c.now,
    },
  ];
}

export function burstThenRedeem(
  d: Detection,
  accruals: Activity[],
  c: { memberId: string; subject: string; now: Date },
): Finding[] {
  const rule = d.burstThenRedeem;
  if (!rule) return [];
  const n = within(accruals, c.now, durationMs(rule.window)).length;
  if (n < rule.minAccruals) return [];
  return [
    {
      detector: 'burstThenRedeem',
      memberId: c.memberId,
      subject: c.subject,
      seen: { accruals: n, window: rule.window },
      threshold: { ...rule },
      why: `redemption after ${n} accruals in ${rule.window} (burst: ${rule.minAccruals})`,
      at: c.now,
    },
  ];
}

/**
 * Redemptions this hour against the same hour in past weeks (`baseline`: one count per past
 * week, missing weeks as 0). Per reward and overall: call once per subject.
 */
export function redemptionSpike(
  d: Detection,
  input: { current: number; baseline: number[] },
  c: { subject: string; now: Date },
): Finding[] {
  const rule = d.redemptionSpike;
  if (!rule || input.current < rule.minCount) return [];
  const mean = input.baseline.reduce((s, n) => s + n, 0) / Math.max(1, input.baseline.length);
  // A baseline of 0 is "nothing usual": minCount alone decides then.
  if (input.current <= rule.factor * mean) return [];
  return [
    {
      detector: 'redemptionSpike',
      subject: c.subject,
      seen: { current: input.current, baselineMean: mean, baseline: input.baseline },
      threshold: { ...rule },
      why: `${input.current} redemptions this hour > ${rule.factor} × ${mean.toFixed(1)} (same hour, ${input.baseline.length} weeks)`,
      at: c.now,
    },
  ];
}

/** `history`: countries of the member's past events and shipments (one entry each). */
export function unusualCountry(
  d: Detection,
  input: { country: string | undefined; history: string[] },
  c: { memberId: string; subject: string; now: Date },
): Finding[] {
  const rule = d.unusualCountry;
  if (!rule || !input.country || input.history.length < rule.minHistory) return [];
  const seen = input.history.filter((h) => h === input.country).length;
  const share = seen / input.history.length;
  if (share > rule.maxShare) return [];
  const usual = [...new Set(input.history)].sort();
  return [
    {
      detector: 'unusualCountry',
      memberId: c.memberId,
      subject: c.subject,
      seen: { country: input.country, share, usual },
      threshold: { ...rule },
      why: `${input.country} is in ${(share * 100).toFixed(0)} % of ${input.history.length} past events (usual: ${usual.join(', ')})`,
      at: c.now,
    },
  ];
}

/** The event being judged and the member's previous located event. */
export function impossibleTravel(
  d: Detection,
  input: { current: Activity; previous: Activity | undefined },
  c: { memberId: string; subject: string; now: Date },
): Finding[] {
  const rule = d.impossibleTravel;
  const { current: a, previous: b } = input;
  if (!rule || !b || a.lat === undefined || a.lon === undefined) return [];
  if (b.lat === undefined || b.lon === undefined) return [];
  const km = distanceKm({ lat: a.lat, lon: a.lon }, { lat: b.lat, lon: b.lon });
  if (km < rule.minKm) return [];
  const hours = Math.abs(a.at.getTime() - b.at.getTime()) / 3_600_000;
  const speed = hours === 0 ? Infinity : km / hours;
  if (speed <= rule.maxKmPerHour) return [];
  return [
    {
      detector: 'impossibleTravel',
      memberId: c.memberId,
      subject: c.subject,
      seen: {
        km: Math.round(km),
        hours,
        kmPerHour: Number.isFinite(speed) ? Math.round(speed) : null,
      },
      threshold: { ...rule },
      why: `${Math.round(km)} km in ${(hours * 60).toFixed(0)} min is faster than ${rule.maxKmPerHour} km/h`,
      at: c.now,
    },
  ];
}

/** How many distinct members share this device or address (including this member). */
export function linkedAccounts(
  d: Detection,
  input: { kind: 'device' | 'address'; key: string; members: number },
  c: { memberId: string; subject: string; now: Date },
): Finding[] {
  const rule = d.linkedAccounts;
  const max = input.kind === 'device' ? rule?.maxMembersPerDevice : rule?.maxMembersPerAddress;
  if (max === undefined || input.members <= max) return [];
  return [
    {
      detector: 'linkedAccounts',
      memberId: c.memberId,
      // About the event or redemption screened: each one on a shared device or address is held.
      subject: c.subject,
      seen: { kind: input.kind, [input.kind]: input.key, members: input.members },
      threshold: { max },
      why: `${input.members} members share one ${input.kind} (most: ${max})`,
      at: c.now,
    },
  ];
}
