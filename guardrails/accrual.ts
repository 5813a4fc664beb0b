/**
 * The accrual screen: the earning detectors (velocity, country, impossible travel, members
 * sharing the event's device) for one event,
 * from one indexed read of the member's recent accruals (ledger_entries by member and time), in
 * the caller's transaction. The accrual batch (ledger/accrual-batch.ts) calls it for each earning
 * event when any earning detector is on; findings freeze the event's points (ledger/frozen.ts).
 */
import {
  earningVelocity,
  impossibleTravel,
  linkedAccounts,
  unusualCountry,
  type Activity,
  type Finding,
} from './detectors';
import type { EventContext } from './geo';
import type { Detection } from './policy';
import { COUNTRY_HISTORY, lookbackMs, type AccrualReads } from './accrual-reads';

export interface AccrualToScreen {
  eventId: string;
  memberId: string;
  points: number;
  at: Date;
  context: EventContext;
  /**
   * Other members of the same batch whose events named this event's device before it (not
   * written yet, so not read back).
   */
  sameDeviceInBatch?: string[];
}

/** True when no earning detector is on: the hot path then reads nothing. */
export const earningDetectorsOff = (d: Detection): boolean =>
  !d.earningVelocity?.length &&
  !d.unusualCountry &&
  !d.impossibleTravel &&
  d.linkedAccounts?.maxMembersPerDevice === undefined;

/**
 * `earlier`: the member's accruals decided before this one in the same transaction and not written
 * yet (a batch writes all its rows at the end), oldest first; they count as if read.
 */
export async function screenAccrual(
  reads: AccrualReads,
  d: Detection,
  e: AccrualToScreen,
  earlier: Activity[] = [],
): Promise<Finding[]> {
  if (earningDetectorsOff(d)) return [];
  const c = { memberId: e.memberId, subject: `event:${e.eventId}`, now: e.at };
  const back = lookbackMs(d);
  const read =
    back > 0 ? await reads.accrualsSince(e.memberId, new Date(e.at.getTime() - back)) : [];
  const past = [...read, ...earlier];
  const current = { at: e.at, points: e.points, ...e.context };
  const out = earningVelocity(d, [...past, current], c);
  if (d.impossibleTravel) {
    // Newest first; among equal times the later one (a batch's events share its time).
    const previous = [...past]
      .reverse()
      .filter((p) => p.lat !== undefined && p.at <= e.at)
      .sort((a, b) => b.at.getTime() - a.at.getTime())[0];
    out.push(...impossibleTravel(d, { current, previous }, c));
  }
  if (d.unusualCountry && e.context.country) {
    const unwritten = earlier.flatMap((a) => (a.country ? [a.country] : [])).reverse();
    const read = await reads.recentCountries(e.memberId, COUNTRY_HISTORY);
    const history = [...unwritten, ...read].slice(0, COUNTRY_HISTORY);
    out.push(...unusualCountry(d, { country: e.context.country, history }, c));
  }
  const maxPerDevice = d.linkedAccounts?.maxMembersPerDevice;
  if (maxPerDevice !== undefined && e.context.deviceId) {
    const device = e.context.deviceId;
    const others = new Set(e.sameDeviceInBatch ?? []);
    others.delete(e.memberId);
    if (others.size <= maxPerDevice)
      for (const m of await reads.otherMembersOnDevice(device, e.memberId, maxPerDevice + 1))
        others.add(m);
    const members = others.size + 1;
    out.push(...linkedAccounts(d, { kind: 'device', key: device, members }, c));
  }
  return out;
}
