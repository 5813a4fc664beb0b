/**
 * Earning events recorded a batch at a time (group commit): one transaction locks the batch's
 * members (in id order, so batches cannot deadlock each other), reads what they already earned in
 * one round trip, decides every event in order in memory (`earn.ts`), and writes all entries, lots,
 * movements, purchase lines, cap counters, outbox rows, event rows and balances in one statement.
 * Six round trips for the batch instead of six per event; each event still gets its own answer
 * (its own balance after it, its own error). A batch that meets a concurrent write (another
 * process recorded one of its events first) is undone and its events are recorded one by one.
 *
 * Each member is decided under the program version in force for it, read with its lock (during a
 * soft launch, a cohort member's purchase earns under the new version and another member's, in
 * the same batch, under the old): each version in the batch is loaded once (parsed versions are
 * cached), and each entry and event row records its own version.
 */
import {
  BudgetRetry,
  escrowReads,
  openPointsGate,
  pointsRules,
  retryExact,
  slotOf,
  slotUseUpdate,
  type GateMode,
  type SlotUse,
} from '../budgets/points';
import { capPeriods } from '../domain/earning';
import { ms, tierIndex } from '../domain/program';
import {
  conflict,
  memberClosed,
  memberNotFound,
  memberSuspended,
  type Refusal,
} from '../domain/refusal';
import { constant, joinColumns, selectColumns, type Columns } from '../infra/columns';
import type { Db, Trx } from '../infra/db';
import { hashJson, replay, type ActivityEvent, type EventResult } from './activity';
import type { StoredEvent } from './store';
import {
  assertEarnable,
  earn,
  earningFor,
  emptyWrites,
  MemberDraft,
  ruleTypeOf,
  type BatchWrites,
} from './earn';
import { createScreen, readsForBatch } from './frozen-screen';
import { loadRuleSet, type RuleSet } from './programs';
import type { LedgerMemberRow } from './store';

export interface AccrualRequest {
  event: ActivityEvent;
  actor: string;
}

export type AccrualOutcome = { result: EventResult } | { error: unknown };

interface EventRow {
  id: string;
  memberId: string;
  type: string;
  orderId: string | null;
  hash: string;
  payload: string;
  response: string;
  occurredAt: Date | string;
  version: number;
}

/** Records `requests` (no returns) in one transaction; answers one outcome per request, in order. */
export async function recordEarningBatch(
  db: Db,
  requests: AccrualRequest[],
  now: Date = new Date(),
): Promise<AccrualOutcome[]> {
  try {
    return await db.transaction((trx) => decideAndWrite(trx, requests, now, 'escrow'));
  } catch (err) {
    // A points budget near its end: decided again, one batch at a time (budgets/points.ts).
    if (!retryExact(err)) throw err;
    return db.transaction((trx) => decideAndWrite(trx, requests, now, 'exact'));
  }
}

async function decideAndWrite(
  trx: Trx,
  requests: AccrualRequest[],
  now: Date,
  budgetMode: GateMode,
): Promise<AccrualOutcome[]> {
  const members = await lockMembers(trx, requests);
  if (members.size === 0) return requests.map(({ event }) => ({ error: noSuchMember(event) }));
  const ruleSets = new Map<number, RuleSet>();
  for (const version of new Set([...members.values()].map((m) => m.ruleVersion)))
    ruleSets.set(version, await loadRuleSet(trx, version));
  const periods = capPeriods(now);
  // Below its version's top tier, a member's qualifying points count from its version's window.
  const known = new Map([...members.values()].map((m) => [m.row.id, m]));
  const windows = new Map<string, Date>();
  for (const [id, { row, ruleVersion }] of known) {
    const { program } = ruleSets.get(ruleVersion)!;
    if (tierIndex(program, row.tier) < program.tiers.length - 1)
      windows.set(id, new Date(now.getTime() - ms(program.tierPolicy.qualificationWindow)));
  }
  const rules = pointsRules([...ruleSets.values()].map((r) => r.program));
  const slot = slotOf([...known.keys()].sort()[0]!);
  // The screen's reads and the budget gate's ride in the batch's own first read.
  const { seen, extra } = await readBatch(
    trx,
    requests,
    [...known.keys()],
    periods,
    windows,
    joinColumns(
      [
        readsForBatch(
          now,
          [...known.values()].map((m) => ({
            memberId: m.row.id,
            ruleSet: ruleSets.get(m.ruleVersion)!,
          })),
          requests.map((r) => r.event),
        ),
        budgetMode === 'escrow' ? escrowReads(rules, slot, now) : constant(null),
      ],
      (reads, escrow) => ({ reads, escrow }),
    ),
  );
  const budget = await openPointsGate(trx, rules, slot, now, budgetMode, extra.escrow);

  const writes = emptyWrites();
  const drafts = new Map<string, MemberDraft>();
  const events: EventRow[] = [];
  const screen = createScreen(trx, now, extra.reads);
  const outcomes: AccrualOutcome[] = [];
  for (const { event, actor } of requests) outcomes.push(await decide(event, actor));
  if (budget?.needsExact) throw new BudgetRetry();
  // The slot's use is written by the batch's statement; with no event to write, by the gate's.
  const slotUse = events.length > 0 ? (budget?.slotUse() ?? null) : null;
  if (events.length > 0) await writeBatch(trx, writes, events, drafts, now, slotUse);
  await budget?.commit(trx, now, { slotUseWritten: slotUse !== null });
  return outcomes;

  async function decide(event: ActivityEvent, actor: string): Promise<AccrualOutcome> {
    try {
      const locked = members.get(event.memberId ?? `ext:${event.externalId}`);
      if (!locked) throw noSuchMember(event);
      const payload = JSON.stringify(event);
      const hash = hashJson(payload);
      const before = seen.events.get(event.eventId);
      if (before) return { result: replay(before, hash, event.eventId) };
      const id = locked.row.id;
      const ruleSet = ruleSets.get(locked.ruleVersion)!;
      if (locked.row.status === 'closed') {
        throw memberClosed(id);
      }
      // Refused, not recorded as earning nothing: the event stays unrecorded, so the partner
      // (or ops) can send it again once the member is reinstated, and nothing is lost silently.
      if (locked.row.status === 'suspended') throw memberSuspended(id);
      assertEarnable(event, ruleSet.version, ruleSet.program);
      if (event.type === 'purchase' && seen.orders.has(event.orderId!)) throw orderTaken(event);
      // Decided from here on: nothing below refuses the event.
      const draft =
        drafts.get(id) ??
        new MemberDraft(
          locked.row,
          now,
          seen.earned.get(id) ?? new Map<string, number>(),
          seen.qualifying(id),
          writes,
        );
      drafts.set(id, draft);
      const earning = earningFor(draft, event, ruleSet.program, budget);
      // The earning detectors, when any is on (off: nothing read); findings freeze the points.
      const flagged = await screen(draft, event, earning.earned, ruleSet);
      const { points, changes } = earn(draft, writes, event, actor, ruleSet, budget, {
        earning,
        frozen: flagged.length > 0,
      });
      if (flagged.length > 0) points.frozen = { findings: flagged };
      const body = {
        eventId: event.eventId,
        memberId: id,
        type: ruleTypeOf(event),
        ruleVersion: ruleSet.version,
        points,
        balance: draft.balances,
        tier: draft.member.tier,
        status: draft.member.status,
      };
      seen.events.set(event.eventId, { request_hash: hash, response: body });
      if (event.type === 'purchase') seen.orders.add(event.orderId!);
      events.push({
        id: event.eventId,
        memberId: id,
        type: event.type,
        orderId: event.orderId ?? null,
        hash,
        payload,
        response: JSON.stringify(body),
        occurredAt: event.occurredAt ?? now,
        version: ruleSet.version,
      });
      return { result: { status: 201, body, replayed: false, changes, member: draft.member } };
    } catch (err) {
      return { error: err };
    }
  }
}

interface Locked {
  row: LedgerMemberRow;
  ruleVersion: number;
}

/** Locks the members the batch names, by id and by `ext:<externalId>`, in id order. */
async function lockMembers(trx: Trx, requests: AccrualRequest[]): Promise<Map<string, Locked>> {
  const ids = requests.flatMap(({ event }) => (event.memberId ? [event.memberId] : []));
  const externalIds = requests.flatMap(({ event }) => (event.memberId ? [] : [event.externalId!]));
  const { rows } = await trx.raw<{ rows: (LedgerMemberRow & { _rule_version: number })[] }>(
    `SELECT m.*, loyalty_rule_version(m.id) AS _rule_version FROM members m
     WHERE m.id = ANY(?::uuid[]) OR m.external_id = ANY(?::text[])
     ORDER BY m.id FOR UPDATE OF m`,
    [ids, externalIds],
  );
  const locked = new Map<string, Locked>();
  for (const { _rule_version, ...row } of rows) {
    const entry = { row, ruleVersion: _rule_version };
    locked.set(row.id, entry);
    locked.set(`ext:${row.external_id}`, entry);
  }
  return locked;
}

/**
 * After the locks, in one round trip: the batch's events already recorded, the purchase orders
 * already taken, what each member earned this UTC day and month, and (below the top tier: the
 * members in `windows`) its qualifying points since its window's start; and the `extra` columns
 * of others (the screen's reads, the budget gate's).
 */
async function readBatch<X>(
  trx: Trx,
  requests: AccrualRequest[],
  memberIds: string[],
  periods: { day: string; month: string },
  windows: Map<string, Date>,
  extra: Columns<X>,
) {
  const orders = requests.flatMap(({ event }) =>
    event.type === 'purchase' ? [event.orderId!] : [],
  );
  const own: Columns<Found> = {
    select: [
      `(SELECT coalesce(json_agg(json_build_object('id', id, 'hash', request_hash,
          'response', response)), '[]') FROM ledger_events WHERE id = ANY(:events)) AS events`,
      `(SELECT coalesce(json_agg(order_id), '[]') FROM ledger_events
          WHERE type = 'purchase' AND order_id = ANY(:orders)) AS orders`,
      `(SELECT coalesce(json_agg(json_build_object('m', member_id, 'p', period, 't', event_type,
          'n', points)), '[]') FROM earning_counters
          WHERE member_id = ANY(:members::uuid[]) AND period IN (:day, :month)) AS counters`,
      `(SELECT coalesce(json_agg(json_build_object('m', member_id, 'n', points)), '[]')
          FROM (SELECT e.member_id, sum(e.qualifying)::bigint AS points
                FROM unnest(:qualifying::uuid[], :since::timestamptz[]) AS w(member_id, since)
                JOIN ledger_entries e ON e.member_id = w.member_id AND e.created_at > w.since
                WHERE e.qualifying <> 0 GROUP BY e.member_id) q) AS qualifying`,
    ],
    bindings: {
      events: requests.map(({ event }) => event.eventId),
      orders,
      members: memberIds,
      qualifying: [...windows.keys()],
      since: [...windows.values()],
      ...periods,
    },
    parse: (row) => row as unknown as Found,
  };
  const [found, extraRead] = await selectColumns(
    trx,
    joinColumns([own, extra], (f, x) => [f, x] as const),
  );
  const earned = new Map<string, Map<string, number>>();
  for (const c of found.counters) {
    const member = earned.get(c.m) ?? new Map<string, number>();
    member.set(`${c.p}|${c.t}`, Number(c.n));
    earned.set(c.m, member);
  }
  const qualifying = new Map(found.qualifying.map((q) => [q.m, Math.max(0, Number(q.n))]));
  const seen = {
    events: new Map<string, StoredEvent>(
      found.events.map((e) => [e.id, { request_hash: e.hash, response: e.response }]),
    ),
    orders: new Set(found.orders),
    earned,
    qualifying: (id: string): number | null => (windows.has(id) ? (qualifying.get(id) ?? 0) : null),
  };
  return { seen, extra: extraRead };
}

/** What `readBatch`'s own columns answer. */
interface Found {
  events: { id: string; hash: string; response: StoredEvent['response'] }[];
  orders: string[];
  counters: { m: string; p: string; t: string; n: number }[];
  qualifying: { m: string; n: number }[];
}

/**
 * Everything the batch decided, in one statement (with its budget slot's use, when it took some);
 * fails if another process got there first.
 */
async function writeBatch(
  trx: Trx,
  writes: BatchWrites,
  events: EventRow[],
  drafts: Map<string, MemberDraft>,
  now: Date,
  slotUse: SlotUse | null,
): Promise<void> {
  const { entries, lines, programEvents } = writes;
  const versionOf = new Map(events.map((v) => [v.id, v.version]));
  const lots = entries.filter((e) => e.lot);
  const counters = [...writes.counters].map(([key, points]) => [...key.split('|'), points]);
  const members = [...drafts.values()];
  const use = slotUse ? slotUseUpdate(slotUse) : null;
  await trx.raw(
    `WITH ${use ? `${use.cte},` : ''}
     entry AS (
       INSERT INTO ledger_entries (member_id, kind, amount, available_delta, pending_delta,
         debt_delta, frozen_delta, qualifying, reason, actor, source_event_id, dedupe_key,
         rule_version, created_at)
       SELECT member_id, 'accrual', amount, available, pending, debt, frozen, amount - frozen,
         reason, actor, event_id, 'event:' || event_id, version, :now
       FROM unnest(:eMember::uuid[], :eAmount::bigint[], :eAvailable::bigint[], :ePending::bigint[],
         :eDebt::bigint[], :eFrozen::bigint[], :eReason::text[], :eActor::text[], :eEvent::text[],
         :eVersion::int[])
         AS e(member_id, amount, available, pending, debt, frozen, reason, actor, event_id, version)
       RETURNING id, member_id, source_event_id),
     lot AS (
       INSERT INTO lots (member_id, entry_id, status, original, remaining, activates_at,
         expires_at, created_at)
       SELECT entry.member_id, entry.id, l.status, l.amount, l.amount, l.activates_at,
         l.expires_at, :now
       FROM unnest(:lEvent::text[], :lStatus::text[], :lAmount::bigint[],
         :lActivates::timestamptz[], :lExpires::timestamptz[])
         AS l(event_id, status, amount, activates_at, expires_at)
       JOIN entry ON entry.source_event_id = l.event_id
       RETURNING id, entry_id, original),
     movement AS (
       INSERT INTO lot_movements (entry_id, lot_id, delta) SELECT entry_id, id, original FROM lot),
     line AS (
       INSERT INTO purchase_lines (event_id, sku, category, quantity, amount, points)
       SELECT * FROM unnest(:pEvent::text[], :pSku::text[], :pCategory::text[], :pQuantity::int[],
         :pAmount::numeric[], :pPoints::bigint[])),
     counter AS (
       INSERT INTO earning_counters (member_id, period, event_type, points)
       SELECT * FROM unnest(:cMember::uuid[], :cPeriod::text[], :cType::text[], :cPoints::bigint[])
       ON CONFLICT (member_id, period, event_type)
       DO UPDATE SET points = earning_counters.points + excluded.points),
     outbox AS (
       INSERT INTO program_events (type, member_id, dedupe_key, payload, occurred_at)
       SELECT type, member_id, dedupe_key, payload::jsonb, :now
       FROM unnest(:oType::text[], :oMember::uuid[], :oKey::text[], :oPayload::text[])
         AS o(type, member_id, dedupe_key, payload)
       ON CONFLICT (dedupe_key) DO NOTHING),
     event AS (
       INSERT INTO ledger_events (id, member_id, type, order_id, request_hash, payload, response,
         rule_version, occurred_at, created_at)
       SELECT id, member_id, type, order_id, hash, payload::jsonb, response::jsonb, version,
         occurred_at, :now
       FROM unnest(:vId::text[], :vMember::uuid[], :vType::text[], :vOrder::text[], :vHash::text[],
         :vPayload::text[], :vResponse::text[], :vOccurred::timestamptz[], :vVersion::int[])
         AS v(id, member_id, type, order_id, hash, payload, response, occurred_at, version))
     UPDATE members m SET available = m.available + d.available,
       pending = m.pending + d.pending, debt = m.debt + d.debt, frozen = m.frozen + d.frozen,
       status = d.status, tier = d.tier,
       tier_period_ends_at = d.period_ends, tier_grace_ends_at = d.grace_ends,
       last_activity_at = d.last_activity, updated_at = :now
     FROM unnest(:mId::uuid[], :mAvailable::bigint[], :mPending::bigint[], :mDebt::bigint[],
       :mFrozen::bigint[], :mStatus::text[], :mTier::text[], :mPeriodEnds::timestamptz[],
       :mGraceEnds::timestamptz[], :mActivity::timestamptz[])
       AS d(id, available, pending, debt, frozen, status, tier, period_ends, grace_ends,
         last_activity)
     WHERE m.id = d.id`,
    {
      ...use?.bindings,
      now,
      eMember: entries.map((e) => e.memberId),
      eAmount: entries.map((e) => e.amount),
      eAvailable: entries.map((e) => e.available),
      ePending: entries.map((e) => e.pending),
      eDebt: entries.map((e) => e.debt),
      eFrozen: entries.map((e) => e.frozen),
      eReason: entries.map((e) => e.reason),
      eActor: entries.map((e) => e.actor),
      eEvent: entries.map((e) => e.eventId),
      eVersion: entries.map((e) => versionOf.get(e.eventId)!),
      lEvent: lots.map((e) => e.eventId),
      lStatus: lots.map((e) => e.lot!.status),
      lAmount: lots.map((e) => e.available + e.pending + e.frozen),
      lActivates: lots.map((e) => e.lot!.activatesAt),
      lExpires: lots.map((e) => e.lot!.expiresAt),
      pEvent: lines.map((l) => l.eventId),
      pSku: lines.map((l) => l.line.sku),
      pCategory: lines.map((l) => l.line.category),
      pQuantity: lines.map((l) => l.line.quantity),
      pAmount: lines.map((l) => l.line.amount),
      pPoints: lines.map((l) => l.points),
      cMember: counters.map((c) => c[0]),
      cPeriod: counters.map((c) => c[1]),
      cType: counters.map((c) => c[2]),
      cPoints: counters.map((c) => c[3]),
      oType: programEvents.map((o) => o.type),
      oMember: programEvents.map((o) => o.memberId),
      oKey: programEvents.map((o) => o.dedupeKey),
      oPayload: programEvents.map((o) => JSON.stringify(o.payload)),
      vId: events.map((v) => v.id),
      vMember: events.map((v) => v.memberId),
      vType: events.map((v) => v.type),
      vOrder: events.map((v) => v.orderId),
      vHash: events.map((v) => v.hash),
      vPayload: events.map((v) => v.payload),
      vResponse: events.map((v) => v.response),
      vOccurred: events.map((v) => v.occurredAt),
      vVersion: events.map((v) => v.version),
      mId: members.map((d) => d.member.id),
      mAvailable: members.map((d) => d.deltas.available),
      mPending: members.map((d) => d.deltas.pending),
      mDebt: members.map((d) => d.deltas.debt),
      mFrozen: members.map((d) => d.deltas.frozen),
      mStatus: members.map((d) => d.member.status),
      mTier: members.map((d) => d.member.tier),
      mPeriodEnds: members.map((d) => d.member.tier_period_ends_at),
      mGraceEnds: members.map((d) => d.member.tier_grace_ends_at),
      mActivity: members.map((d) => d.member.last_activity_at),
    },
  );
}

function noSuchMember(event: ActivityEvent): Refusal {
  return event.memberId
    ? memberNotFound('memberId', event.memberId)
    : memberNotFound('externalId', event.externalId!);
}

/** The order was recorded by another event (also raised on the database's unique index). */
export function orderTaken(event: ActivityEvent): Refusal {
  return conflict(
    `Order '${event.orderId}' was already recorded by another event.`,
    'orderId',
    'already recorded',
  );
}
