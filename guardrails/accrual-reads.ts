/**
 * What the accrual screen reads: the member's recent accruals, the countries of their recent
 * events, the members on a device. `directReads` asks the database for each event; a batch reads
 * them once for all its members, as columns of its first statement (`batchReads`), so screening a
 * batch of 100 events costs no round trip of its own, not 200 inside its transaction.
 */
import { constant, joinColumns, selectColumns, type Columns } from '../infra/columns';
import type { Trx } from '../infra/db';
import type { Activity } from './detectors';
import { durationMs, type Detection } from './policy';
import {
  accrualsOfMembersSince,
  accrualsSince,
  membersOnDevices,
  recentCountries,
  recentCountriesOfMembers,
} from './queries';

export interface AccrualReads {
  accrualsSince(memberId: string, since: Date): Promise<Activity[]>;
  recentCountries(memberId: string, limit: number): Promise<string[]>;
  otherMembersOnDevice(deviceId: string, memberId: string, limit: number): Promise<string[]>;
}

/** The member's countries the unusual-country detector weighs. */
export const COUNTRY_HISTORY = 50;

/** How far back the velocity and travel detectors look (0: they read no accruals). */
export function lookbackMs(d: Detection): number {
  const longest = Math.max(0, ...(d.earningVelocity ?? []).map((v) => durationMs(v.window)));
  // Impossible travel needs the previous located event: look back a day at least.
  return Math.max(longest, d.impossibleTravel ? 24 * 3_600_000 : 0);
}

export const directReads = (trx: Trx): AccrualReads => ({
  accrualsSince: (memberId, since) => accrualsSince(trx, memberId, since),
  recentCountries: (memberId, limit) => recentCountries(trx, memberId, limit),
  otherMembersOnDevice: async (deviceId, memberId, limit) => {
    const onDevice = await selectColumns(trx, membersOnDevices([deviceId], limit + 1));
    return (onDevice.get(deviceId) ?? []).filter((m) => m !== memberId).slice(0, limit);
  },
});

/**
 * One batch's reads, as columns of the batch's first statement (infra/columns.ts): `members` with
 * the detection of their rule version (those with every earning detector off need not be listed),
 * `devices` the batch's events name. Nothing to read: no columns.
 */
export function batchReads(
  now: Date,
  members: { memberId: string; detection: Detection }[],
  devices: string[],
): Columns<AccrualReads> {
  const back = Math.max(0, ...members.map((m) => lookbackMs(m.detection)));
  const needAccruals = members.filter((m) => lookbackMs(m.detection) > 0).map((m) => m.memberId);
  const needCountries = members.filter((m) => m.detection.unusualCountry).map((m) => m.memberId);
  const perDevice = members.flatMap((m) => m.detection.linkedAccounts?.maxMembersPerDevice ?? []);
  // One more than the largest maximum, and one for the member asking (left out after).
  const deviceLimit = perDevice.length ? Math.max(...perDevice) + 2 : 0;
  const none = constant(new Map<string, never[]>());
  return joinColumns(
    [
      needAccruals.length
        ? accrualsOfMembersSince(needAccruals, new Date(now.getTime() - back))
        : none,
      needCountries.length ? recentCountriesOfMembers(needCountries, COUNTRY_HISTORY) : none,
      deviceLimit && devices.length ? membersOnDevices([...new Set(devices)], deviceLimit) : none,
    ],
    (accruals: Map<string, Activity[]>, countries: Map<string, string[]>, onDevice) => ({
      accrualsSince: (memberId, since) =>
        Promise.resolve((accruals.get(memberId) ?? []).filter((a) => a.at > since)),
      recentCountries: (memberId, limit) =>
        Promise.resolve((countries.get(memberId) ?? []).slice(0, limit)),
      otherMembersOnDevice: (deviceId, memberId, limit) =>
        Promise.resolve(
          (onDevice.get(deviceId) ?? []).filter((m) => m !== memberId).slice(0, limit),
        ),
    }),
  );
}
