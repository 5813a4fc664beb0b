/**
 * What the accrual screen reads: the member's recent accruals, the countries of their recent
 * events, the members on a device. `directReads` asks the database for each event; a batch reads
 * them once for all its members first (`batchReads`), so screening a batch of 100 events costs a
 * few queries, not 200 round trips inside its transaction.
 */
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
  otherMembersOnDevice: async (deviceId, memberId, limit) =>
    ((await membersOnDevices(trx, [deviceId], limit + 1)).get(deviceId) ?? [])
      .filter((m) => m !== memberId)
      .slice(0, limit),
});

/**
 * One batch's reads, done at once: `members` with the detection of their rule version (those with
 * every earning detector off need not be listed), `devices` the batch's events name.
 */
export async function batchReads(
  trx: Trx,
  now: Date,
  members: { memberId: string; detection: Detection }[],
  devices: string[],
): Promise<AccrualReads> {
  const back = Math.max(0, ...members.map((m) => lookbackMs(m.detection)));
  const needAccruals = members.filter((m) => lookbackMs(m.detection) > 0).map((m) => m.memberId);
  const needCountries = members.filter((m) => m.detection.unusualCountry).map((m) => m.memberId);
  const perDevice = members.flatMap((m) => m.detection.linkedAccounts?.maxMembersPerDevice ?? []);
  // One more than the largest maximum, and one for the member asking (left out after).
  const deviceLimit = perDevice.length ? Math.max(...perDevice) + 2 : 0;
  const [accruals, countries, onDevice] = await Promise.all([
    needAccruals.length
      ? accrualsOfMembersSince(trx, needAccruals, new Date(now.getTime() - back))
      : new Map<string, Activity[]>(),
    needCountries.length
      ? recentCountriesOfMembers(trx, needCountries, COUNTRY_HISTORY)
      : new Map<string, string[]>(),
    deviceLimit && devices.length
      ? membersOnDevices(trx, [...new Set(devices)], deviceLimit)
      : new Map<string, string[]>(),
  ]);
  return {
    accrualsSince: (memberId, since) =>
      Promise.resolve((accruals.get(memberId) ?? []).filter((a) => a.at > since)),
    recentCountries: (memberId, limit) =>
      Promise.resolve((countries.get(memberId) ?? []).slice(0, limit)),
    otherMembersOnDevice: (deviceId, memberId, limit) =>
      Promise.resolve((onDevice.get(deviceId) ?? []).filter((m) => m !== memberId).slice(0, limit)),
  };
}
