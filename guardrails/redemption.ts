/**
 * The redemption screen: the per-member and programme-wide detectors that judge a redemption
 * about to be held, its findings recorded (anomaly_findings, `anomaly.detected`) and returned in
 * the shape the review hold takes. An empty list: nothing to review.
 */
import type { Db, Trx } from '../infra/db';
import { loadRuleSet } from '../ledger/programs';
import {
  burstThenRedeem,
  linkedAccounts,
  newAccountRedemption,
  redemptionSpike,
  redemptionVelocity,
  unusualCountry,
  type Finding,
} from './detectors';
import { recordFindings } from './findings';
import { durationMs, type Detection } from './policy';
import {
  accrualsSince,
  enrolledAt,
  recentCountries,
  redemptionsSince,
  sameHourCounts,
} from './queries';

export interface RedemptionFinding {
  source: string;
  summary: string;
  details: Record<string, unknown>;
}

export interface RedemptionToScreen {
  redemptionId: string;
  memberId: string;
  rewardId: string;
  points: number;
  /** Where it ships, when the request says so. */
  country?: string;
  /** Members that shipped to the same address (including this one), when known. */
  membersAtAddress?: { address: string; members: number };
  at?: Date;
  /** The rule version the redemption runs under (default: the general one). */
  ruleVersion?: number;
}

const HISTORY = 50;

export async function screenRedemption(
  db: Db | Trx,
  r: RedemptionToScreen,
): Promise<RedemptionFinding[]> {
  const { version, program } = await loadRuleSet(db, r.ruleVersion);
  const findings = await detect(db, program.detection, r);
  await recordFindings(db, findings, version);
  return findings.map((f) => ({
    source: `anomaly.${f.detector}`,
    summary: f.why,
    details: { subject: f.subject, seen: f.seen, threshold: f.threshold },
  }));
}

async function detect(db: Db | Trx, d: Detection, r: RedemptionToScreen): Promise<Finding[]> {
  const now = r.at ?? new Date();
  const c = { memberId: r.memberId, subject: `redemption:${r.redemptionId}`, now };
  const out: Finding[] = [];
  const since = (windows: string[]) =>
    new Date(now.getTime() - Math.max(0, ...windows.map(durationMs)));

  if (d.redemptionVelocity?.length) {
    const window = since(d.redemptionVelocity.map((v) => v.window));
    // The redemption being screened may already have its row (asked for before its plan ran):
    // counted once, at `now`, whether or not it has.
    const past = await redemptionsSince(db, r.memberId, window, r.redemptionId);
    out.push(...redemptionVelocity(d, [...past, { at: now, points: r.points }], c));
  }
  const accrualWindows = [d.newAccountRedemption?.accrualWithin, d.burstThenRedeem?.window].filter(
    (w): w is string => w !== undefined,
  );
  if (accrualWindows.length) {
    const accruals = await accrualsSince(db, r.memberId, since(accrualWindows));
    out.push(...burstThenRedeem(d, accruals, c));
    const enrolled = d.newAccountRedemption ? await enrolledAt(db, r.memberId) : undefined;
    if (enrolled) out.push(...newAccountRedemption(d, { enrolledAt: enrolled, accruals }, c));
  }
  if (d.unusualCountry && r.country) {
    const history = await recentCountries(db, r.memberId, HISTORY);
    out.push(...unusualCountry(d, { country: r.country, history }, c));
  }
  if (r.membersAtAddress) {
    const { address, members } = r.membersAtAddress;
    out.push(...linkedAccounts(d, { kind: 'address', key: address, members }, c));
  }
  if (d.redemptionSpike) {
    const weeks = d.redemptionSpike.weeks;
    for (const rewardId of [undefined, r.rewardId]) {
      const [current = 0, ...baseline] = await sameHourCounts(db, now, weeks, rewardId);
      const subject = rewardId ? `reward:${rewardId}` : 'program';
      // Hour-bucketed subject: one spike finding per subject and hour, not one per redemption.
      const hour = now.toISOString().slice(0, 13);
      out.push(
        ...redemptionSpike(d, { current, baseline }, { subject: `${subject}@${hour}`, now }),
      );
    }
  }
  return out;
}
