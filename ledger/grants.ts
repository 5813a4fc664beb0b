/**
 * Point grants (the bulk import's `grants` CSV): a positive adjustment made once per grant id.
 * The grant id is the idempotency key (`grant:<grantId>` on the entry), so a file imported twice
 * credits nothing twice; the same id reused for a different grant is refused, not ignored.
 *
 * Grants are written a batch at a time, set-based: one transaction locks the batch's members
 * (in id order, so batches cannot deadlock each other) and writes all entries, lots, movements,
 * program events and balances in a handful of statements. It does what `credit` in `points.ts`
 * does (repay debt first, the rest into an active lot), for many grants at once: one grant per
 * transaction through `MemberLedger` ran at ~300 grants/s, a million in an hour; this at ~9,000 (BENCHMARKS.md, bench/import).
 */
import { ms } from '../domain/program';
import { Refusal, RefusalKind } from '../domain/refusal';
import type { Db, Trx } from '../infra/db';
import { loadRuleSet } from './programs';

export interface GrantInput {
  grantId: string;
  externalId: string;
  points: number;
  reason: string;
  actor: string;
}

type GrantRefusalKind =
  | typeof RefusalKind.MemberNotFound
  | typeof RefusalKind.MemberClosed
  | typeof RefusalKind.MemberSuspended
  | typeof RefusalKind.Conflict;

export type GrantOutcome =
  | { status: 'granted' | 'present'; entryId: number; memberId: string }
  | {
      status: 'rejected';
      kind: GrantRefusalKind;
      field: 'externalId' | 'grantId';
      message: string;
    };

/** One grant: throws a `Refusal` naming the field at fault when it is refused. */
export async function grantPoints(
  db: Db,
  input: GrantInput,
  now: Date = new Date(),
): Promise<{ granted: boolean; entryId: number; memberId: string }> {
  const [outcome] = await grantBatch(db, [input], now);
  if (outcome!.status === 'rejected') {
    const { kind, field, message } = outcome!;
    throw new Refusal(kind, `Grant ${input.grantId} refused: ${field} ${message}.`, [
      { field, message },
    ]);
  }
  const { status, entryId, memberId } = outcome!;
  return { granted: status === 'granted', entryId, memberId };
}

/**
 * Grants each input once, in order, in one transaction; answers one outcome per input: granted,
 * present (made before, or earlier in the batch), or refused (an unknown or closed member, a grant
 * id already used for another grant).
 */
export async function grantBatch(
  db: Db,
  grants: GrantInput[],
  now: Date = new Date(),
): Promise<GrantOutcome[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction((trx) => writeBatch(trx, grants, now));
    } catch (err) {
      // Another transaction wrote one of these grant ids meanwhile: the next attempt sees it.
      if (attempt >= 3 || !isRetryable(err)) throw err;
    }
  }
}

class GrantRace extends Error {}

const rejected = (
  kind: GrantRefusalKind,
  field: 'externalId' | 'grantId',
  message: string,
): GrantOutcome => ({ status: 'rejected', kind, field, message });

const isRetryable = (err: unknown): boolean =>
  err instanceof GrantRace || ['40P01', '40001'].includes((err as { code?: string }).code ?? '');

/** A grant made: found in the ledger, or new in this batch (its entry id once written). */
interface Made {
  entryId: number | null;
  memberId: string;
  points: number;
  reason: string;
}

interface Fresh extends Made {
  dedupeKey: string;
  actor: string;
  /** Into the new lot (and `available`): the points left after repaying debt. */
  rest: number;
  /** The member's program version, and the new lot's expiry under it. */
  version: number;
  expiresAt: Date;
}

async function writeBatch(trx: Trx, grants: GrantInput[], now: Date): Promise<GrantOutcome[]> {
  const keys = grants.map((g) => `grant:${g.grantId}`);
  const members = await lockMembers(trx, [...new Set(grants.map((g) => g.externalId))]);
  const made = await entriesByKey(trx, keys);
  // Each grant under its member's version (its lot's lifetime): each version parsed once.
  const lifetimes = new Map<number, number>();
  for (const version of new Set([...members.values()].map((m) => m.rule_version))) {
    const { program } = await loadRuleSet(trx, version);
    lifetimes.set(version, ms(program.expiry.lotLifetime));
  }

  // Each grant is refused, or is (or repeats) a grant made: decided in order, debt repaid first.
  const fresh: Fresh[] = [];
  const decided = grants.map((grant, index): GrantOutcome | { made: Made; granted: boolean } => {
    const dedupeKey = keys[index]!;
    const reason = `grant ${grant.grantId}: ${grant.reason}`;
    const member = members.get(grant.externalId);
    if (!member) return rejected(RefusalKind.MemberNotFound, 'externalId', 'no such member');
    const before = made.get(dedupeKey);
    if (before) {
      const same =
        before.memberId === member.id && before.points === grant.points && before.reason === reason;
      return same
        ? { made: before, granted: false }
        : rejected(RefusalKind.Conflict, 'grantId', 'already used for another grant');
    }
    if (member.status === 'closed') {
      return rejected(RefusalKind.MemberClosed, 'externalId', 'the member is closed');
    }
    if (member.status === 'suspended') {
      return rejected(RefusalKind.MemberSuspended, 'externalId', 'the member is suspended');
    }
    const repaid = Math.min(grant.points, member.debt);
    member.debt -= repaid;
    const { points, actor } = grant;
    const entry: Fresh = {
      entryId: null,
      memberId: member.id,
      points,
      reason,
      dedupeKey,
      actor,
      rest: points - repaid,
      version: member.rule_version,
      expiresAt: new Date(now.getTime() + lifetimes.get(member.rule_version)!),
    };
    fresh.push(entry);
    made.set(dedupeKey, entry);
    return { made: entry, granted: true };
  });

  await insertEntries(trx, fresh, now);
  const lotted = fresh.filter((e) => e.rest > 0); // all to debt: no lot, as in `credit`
  await insertLots(trx, lotted, now);
  await insertEvents(trx, fresh, now);
  await saveBalances(trx, fresh, now);
  return decided.map((d) =>
    'status' in d
      ? d
      : {
          status: d.granted ? 'granted' : 'present',
          entryId: d.made.entryId!,
          memberId: d.made.memberId,
        },
  );
}

interface LockedMember {
  id: string;
  external_id: string;
  status: string;
  debt: number;
  /** The program version in force for the member (read under its lock). */
  rule_version: number;
}

async function lockMembers(trx: Trx, externalIds: string[]): Promise<Map<string, LockedMember>> {
  const { rows } = await trx.raw<{ rows: LockedMember[] }>(
    `SELECT id, external_id, status, debt, loyalty_rule_version(id) AS rule_version
     FROM members WHERE external_id = ANY(?::text[])
     ORDER BY id FOR UPDATE`,
    [externalIds],
  );
  return new Map(rows.map((m) => [m.external_id, m]));
}

async function entriesByKey(trx: Trx, keys: string[]): Promise<Map<string, Made>> {
  const { rows } = await trx.raw<{
    rows: { id: number; dedupe_key: string; member_id: string; amount: number; reason: string }[];
  }>(
    `SELECT id, dedupe_key, member_id, amount, reason FROM ledger_entries
     WHERE dedupe_key = ANY(?::text[])`,
    [keys],
  );
  return new Map(
    rows.map((e) => [
      e.dedupe_key,
      { entryId: e.id, memberId: e.member_id, points: e.amount, reason: e.reason },
    ]),
  );
}

/** The entries, as `MemberLedger.append` writes them (amount = available - debt delta). */
async function insertEntries(trx: Trx, fresh: Fresh[], now: Date): Promise<void> {
  if (fresh.length === 0) return;
  const { rows } = await trx.raw<{ rows: { id: number; dedupe_key: string }[] }>(
    `INSERT INTO ledger_entries (member_id, kind, amount, available_delta, debt_delta, reason,
       actor, dedupe_key, rule_version, created_at)
     SELECT member_id, 'adjustment', points, rest, rest - points, reason, actor, dedupe_key,
       version, ?
     FROM unnest(?::uuid[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::int[])
       AS g(member_id, points, rest, reason, actor, dedupe_key, version)
     ON CONFLICT (dedupe_key) DO NOTHING
     RETURNING id, dedupe_key`,
    [
      now,
      fresh.map((e) => e.memberId),
      fresh.map((e) => e.points),
      fresh.map((e) => e.rest),
      fresh.map((e) => e.reason),
      fresh.map((e) => e.actor),
      fresh.map((e) => e.dedupeKey),
      fresh.map((e) => e.version),
    ],
  );
  // A grant id another transaction wrote since we looked: start over (it is then seen above).
  if (rows.length !== fresh.length) throw new GrantRace('a grant id was written concurrently');
  const ids = new Map(rows.map((r) => [r.dedupe_key, r.id]));
  for (const entry of fresh) entry.entryId = ids.get(entry.dedupeKey)!;
}

/** One active lot per entry with its opening movement, as `MemberLedger.createLot` makes. */
async function insertLots(trx: Trx, fresh: Fresh[], now: Date): Promise<void> {
  if (fresh.length === 0) return;
  await trx.raw(
    `WITH g AS (SELECT * FROM unnest(?::bigint[], ?::uuid[], ?::bigint[], ?::timestamptz[])
       AS g(entry_id, member_id, amount, expires_at)),
     lot AS (
       INSERT INTO lots (member_id, entry_id, status, original, remaining, activates_at, expires_at,
         created_at)
       SELECT member_id, entry_id, 'active', amount, amount, NULL, expires_at, ? FROM g
       RETURNING id, entry_id, original)
     INSERT INTO lot_movements (entry_id, lot_id, delta) SELECT entry_id, id, original FROM lot`,
    [
      fresh.map((e) => e.entryId!),
      fresh.map((e) => e.memberId),
      fresh.map((e) => e.rest),
      fresh.map((e) => e.expiresAt),
      now,
    ],
  );
}

/** `points.adjusted`, with the payload `adjustPoints` gives it. */
async function insertEvents(trx: Trx, fresh: Fresh[], now: Date): Promise<void> {
  if (fresh.length === 0) return;
  await trx.raw(
    `INSERT INTO program_events (type, member_id, dedupe_key, payload, occurred_at)
     SELECT 'points.adjusted', member_id, 'points.adjusted:' || entry_id,
       jsonb_build_object('points', points, 'reason', reason, 'actor', actor), ?
     FROM unnest(?::bigint[], ?::uuid[], ?::bigint[], ?::text[], ?::text[])
       AS e(entry_id, member_id, points, reason, actor)
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [
      now,
      fresh.map((e) => e.entryId!),
      fresh.map((e) => e.memberId),
      fresh.map((e) => e.points),
      fresh.map((e) => e.reason),
      fresh.map((e) => e.actor),
    ],
  );
}

/** The members' balances moved by the sum of their new entries, as `MemberLedger.save` does. */
async function saveBalances(trx: Trx, fresh: Fresh[], now: Date): Promise<void> {
  const sums = new Map<string, { available: number; repaid: number }>();
  for (const e of fresh) {
    const sum = sums.get(e.memberId) ?? { available: 0, repaid: 0 };
    sum.available += e.rest;
    sum.repaid += e.points - e.rest;
    sums.set(e.memberId, sum);
  }
  if (sums.size === 0) return;
  await trx.raw(
    `UPDATE members m SET available = m.available + d.available, debt = m.debt - d.repaid,
       updated_at = ?
     FROM unnest(?::uuid[], ?::bigint[], ?::bigint[]) AS d(member_id, available, repaid)
     WHERE m.id = d.member_id`,
    [
      now,
      [...sums.keys()],
      [...sums.values()].map((s) => s.available),
      [...sums.values()].map((s) => s.repaid),
    ],
  );
}
