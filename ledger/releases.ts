/**
 * Which program version is in force, and for whom (`program_release`). A version is written to
 * `rule_sets` first (`publishVersion`) and put in force on purpose: for everyone
 * (`setGeneralVersion`), or for a launch's cohort (`openCohort` ... `closeCohort`). A member is in
 * the cohort when its stable bucket (md5 of launch id and member id, 0..9999) falls under the
 * cohort's percentage, or when it is named in the cohort's list; everyone else keeps the general
 * version. The same rule is the SQL function `loyalty_rule_version(member)` the ledger's writers use.
 */
import { createHash } from 'node:crypto';
import type { Db, Trx } from '../infra/db';
import { programSchema, type ProgramInput } from '../domain/program';

export interface ReleaseState {
  generalVersion: number;
  cohort: { launchId: string; version: number; percent: number } | null;
  updatedAt: Date;
}

interface ReleaseRow {
  general_version: number;
  cohort_version: number | null;
  cohort_launch_id: string | null;
  cohort_percent: number;
  updated_at: Date;
}

export async function releaseState(db: Db | Trx): Promise<ReleaseState> {
  const row = await db<ReleaseRow & { id: number }>('program_release').where({ id: 1 }).first();
  if (!row) throw new Error('no program release: run the migrations');
  return {
    generalVersion: row.general_version,
    cohort:
      row.cohort_version != null && row.cohort_launch_id != null
        ? {
            launchId: row.cohort_launch_id,
            version: row.cohort_version,
            percent: Number(row.cohort_percent),
          }
        : null,
    updatedAt: row.updated_at,
  };
}

/** The version in force for everyone outside a launch's cohort. */
export async function generalVersion(db: Db | Trx): Promise<number> {
  return (await releaseState(db)).generalVersion;
}

/** The version in force for one member now (its cohort's during a soft launch). */
export async function versionForMember(db: Db | Trx, memberId: string): Promise<number> {
  const { rows } = await db.raw<{ rows: { version: number }[] }>(
    'SELECT loyalty_rule_version(?::uuid) AS version',
    [memberId],
  );
  const version = rows[0]?.version;
  if (version == null) throw new Error('no program release: run the migrations');
  return version;
}

/** The cohort bucket of a member in a launch, 0..9999 (as `loyalty_cohort_bucket` in SQL). */
export function cohortBucket(launchId: string, memberId: string): number {
  const hex = createHash('md5').update(`${launchId}:${memberId}`).digest('hex');
  return parseInt(hex.slice(0, 8), 16) % 10000;
}

/** Whether a member falls in a cohort of `percent` % by hash (named members aside). */
export function inCohortByHash(launchId: string, memberId: string, percent: number): boolean {
  return cohortBucket(launchId, memberId) < percent * 100;
}

/** Writes `input` as the next version, not in force for anyone yet. */
export async function publishVersion(
  trx: Trx,
  input: ProgramInput,
  meta: { createdBy: string; description?: string | null | undefined },
): Promise<number> {
  const program = programSchema.parse(input);
  // One publisher at a time, so versions are gap-free and in order.
  await trx.raw('LOCK TABLE rule_sets IN SHARE ROW EXCLUSIVE MODE');
  const { rows } = await trx.raw<{ rows: { version: number }[] }>(
    'SELECT coalesce(max(version), 0) + 1 AS version FROM rule_sets',
  );
  const version = rows[0]!.version;
  await trx('rule_sets').insert({
    version,
    program: JSON.stringify(program),
    description: meta.description ?? null,
    created_by: meta.createdBy,
  });
  return version;
}

/** Puts `version` in force for everyone (ends any cohort). */
export async function setGeneralVersion(trx: Trx, version: number): Promise<void> {
  await trx('program_release').where({ id: 1 }).update({
    general_version: version,
    cohort_version: null,
    cohort_launch_id: null,
    cohort_percent: 0,
    updated_at: trx.fn.now(),
  });
}

/** Opens (or re-opens with new figures) the cohort of `launchId` on `version`. */
export async function openCohort(
  trx: Trx,
  cohort: { launchId: string; version: number; percent: number; members?: string[] },
): Promise<void> {
  const current = await trx<ReleaseRow & { id: number }>('program_release')
    .where({ id: 1 })
    .forUpdate()
    .first();
  if (current?.cohort_launch_id && current.cohort_launch_id !== cohort.launchId) {
    throw new Error(`another launch (${current.cohort_launch_id}) holds the cohort`);
  }
  await trx('program_release').where({ id: 1 }).update({
    cohort_version: cohort.version,
    cohort_launch_id: cohort.launchId,
    cohort_percent: cohort.percent,
    updated_at: trx.fn.now(),
  });
  if (cohort.members?.length) {
    await trx('release_cohort_members')
      .insert(
        cohort.members.map((memberId) => ({ launch_id: cohort.launchId, member_id: memberId })),
      )
      .onConflict(['launch_id', 'member_id'])
      .ignore();
  }
}

/** Ends the cohort of `launchId`: its members return to the general version. */
export async function closeCohort(trx: Trx, launchId: string): Promise<void> {
  await trx('program_release').where({ id: 1, cohort_launch_id: launchId }).update({
    cohort_version: null,
    cohort_launch_id: null,
    cohort_percent: 0,
    updated_at: trx.fn.now(),
  });
}
