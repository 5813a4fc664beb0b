/**
 * Member activity in, points out, exactly once per event id: the event's row, its entries, lots,
 * counters and the member's balances are written in one transaction under the member's lock, and
 * the answer is stored with the event so a repeat gets the first answer back.
 */
import { createHash } from 'node:crypto';
import { Problem } from '../api/problem';
import { capPeriods, computeEarning, type CapUsage, type PurchaseLine } from '../domain/earning';
import { ms, tierIndex, type Program } from '../domain/program';
import type { Db } from '../infra/db';
import { loadRuleSet } from './programs';
import { credit } from './points';
import { recordReturn, type ReturnLine } from './returns';
import {
  lockMemberFor,
  MemberLedger,
  type LedgerMemberRow,
  type MemberKey,
  type StoredEvent,
} from './store';
import { checkUpgrade, type LifecycleChange } from './tiers';

export interface ActivityEvent {
  eventId: string;
  memberId?: string | undefined;
  externalId?: string | undefined;
  type: 'purchase' | 'return' | 'referral' | 'review' | 'custom';
  /** The custom event type's name, as the rules know it. */
  name?: string | undefined;
  occurredAt?: string | undefined;
  orderId?: string | undefined;
  currency?: string | undefined;
  amount?: number | undefined;
  channel?: string | undefined;
  store?: string | undefined;
  country?: string | undefined;
  lines?: (PurchaseLine | ReturnLine)[] | undefined;
  reference?: string | undefined;
}

export interface EventResult {
  status: number;
  body: EventAnswer;
  replayed: boolean;
  /** What the member's lifecycle workflow should hear about (empty on a replay). */
  changes: LifecycleChange[];
  member?: LedgerMemberRow;
}

export type EventAnswer = Record<string, unknown> & { memberId: string };

export const ruleTypeOf = (event: ActivityEvent): string =>
  event.type === 'custom' ? (event.name ?? 'custom') : event.type;

export function hashRequest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

export async function recordEvent(
  db: Db,
  event: ActivityEvent,
  actor: string,
  now: Date = new Date(),
): Promise<EventResult> {
  const key: MemberKey = event.memberId
    ? { id: event.memberId }
    : { externalId: event.externalId! };
  const hash = hashRequest(event);
  try {
    return await db.transaction(async (trx) => {
      const locked = await lockMemberFor(trx, key, event.eventId);
      if (locked.stored) return replay(locked.stored, hash, event.eventId);
      const ledger = new MemberLedger(trx, locked.member, now);
      ledger.assertOpen();
      const ruleSet = await loadRuleSet(trx, locked.ruleVersion);
      const changes: LifecycleChange[] = [];
      const points =
        event.type === 'return'
          ? await recordReturn(ledger, event, actor, ruleSet.version)
          : await earn(ledger, event, actor, ruleSet.version, ruleSet.program, changes);
      const body: EventAnswer = {
        eventId: event.eventId,
        memberId: ledger.member.id,
        type: ruleTypeOf(event),
        ruleVersion: ruleSet.version,
        points,
        balance: ledger.balances,
        tier: ledger.member.tier,
        status: ledger.member.status,
      };
      ledger.defer(
        `INSERT INTO ledger_events (id, member_id, type, order_id, request_hash, payload, response,
           rule_version, occurred_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          event.eventId,
          ledger.member.id,
          event.type,
          event.orderId ?? null,
          hash,
          JSON.stringify(event),
          JSON.stringify(body),
          ruleSet.version,
          event.occurredAt ?? now,
          now,
        ],
      );
      const member = await ledger.save();
      return { status: 201, body, replayed: false, changes, member };
    });
  } catch (err) {
    // The same event id raced in for another member (or the same order twice): answer as a repeat.
    if (isUniqueViolation(err, 'ledger_events_pkey')) {
      const stored = await db<StoredEvent & { id: string }>('ledger_events')
        .where({ id: event.eventId })
        .first();
      if (stored) return replay(stored, hash, event.eventId);
    }
    if (isUniqueViolation(err, 'ledger_events_purchase_order')) {
      throw new Problem(
        'conflict',
        `Order '${event.orderId}' was already recorded by another event.`,
        {
          errors: [{ field: 'orderId', message: 'already recorded' }],
        },
      );
    }
    throw err;
  }
}

function replay(stored: StoredEvent, hash: string, eventId: string): EventResult {
  if (stored.request_hash !== hash) {
    throw new Problem('conflict', `Event '${eventId}' was already recorded with other content.`, {
      errors: [{ field: 'eventId', message: 'already used for a different event' }],
    });
  }
  return { status: 201, body: stored.response, replayed: true, changes: [] };
}

export function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23505' && e.constraint === constraint;
}

async function earn(
  ledger: MemberLedger,
  event: ActivityEvent,
  actor: string,
  version: number,
  program: Program,
  changes: LifecycleChange[],
) {
  const type = ruleTypeOf(event);
  if (event.type !== 'purchase' && program.earning.eventPoints[type] === undefined) {
    const known = ['purchase', 'return', ...Object.keys(program.earning.eventPoints)];
    throw new Problem('validation', `Rule set v${version} has no event type '${type}'.`, {
      errors: [
        {
          field: event.type === 'custom' ? 'name' : 'type',
          message: `unknown event type; known: ${known.join(', ')}`,
        },
      ],
    });
  }
  if (event.type === 'purchase' && program.earning.pointsPerUnit[event.currency!] === undefined) {
    throw new Problem('validation', `Rule set v${version} does not earn in ${event.currency}.`, {
      errors: [
        {
          field: 'currency',
          message: `not earned in; accepted: ${Object.keys(program.earning.pointsPerUnit).join(', ')}`,
        },
      ],
    });
  }
  const now = ledger.now;
  const member = ledger.member;
  const tier = program.tiers[tierIndex(program, member.tier)]!;
  const periods = capPeriods(now);
  const { usage, qualifying } = await capUsage(ledger, program, type, periods);
  const lines = (event.lines ?? []) as PurchaseLine[];
  const earning = computeEarning(program, tier, { ...event, type, lines }, usage);

  const pendingFor = event.type === 'purchase' ? program.earning.pendingPeriod : undefined;
  const activatesAt = pendingFor ? new Date(now.getTime() + ms(pendingFor)) : null;
  const expiresAt = new Date(now.getTime() + ms(program.expiry.lotLifetime));
  const reason =
    event.type === 'purchase'
      ? `purchase ${event.orderId}: ${earning.base} base${earning.bonus ? ` + ${earning.bonus} bonus` : ''}${earning.capped ? `, ${earning.capped} over cap` : ''}`
      : `${type}${event.reference ? ` ${event.reference}` : ''}${earning.capped ? `: ${earning.capped} over cap` : ''}`;
  const credited =
    earning.earned > 0
      ? await credit(
          ledger,
          {
            kind: 'accrual',
            reason,
            actor,
            dedupeKey: `event:${event.eventId}`,
            qualifying: earning.earned,
            sourceEventId: event.eventId,
            ruleVersion: version,
          },
          earning.earned,
          { status: activatesAt ? 'pending' : 'active', activatesAt, expiresAt },
        )
      : null;

  if (event.type === 'purchase')
    savePurchaseLines(ledger, event.eventId, lines, earning.linePoints);
  if (earning.earned > 0) countUsage(ledger, type, periods, earning.earned);

  const wasDormant = member.status === 'dormant';
  ledger.set({ last_activity_at: now, ...(wasDormant ? { status: 'active' } : {}) });
  if (wasDormant) {
    ledger.programEvent('member.reactivated', `member.reactivated:${event.eventId}`, {
      reason: `${type} event ${event.eventId}`,
    });
    changes.push('status');
  }
  if (earning.earned > 0) {
    ledger.programEvent('points.accrued', `points.accrued:${event.eventId}`, {
      eventId: event.eventId,
      points: earning.earned,
      status: activatesAt ? 'pending' : 'available',
      ruleVersion: version,
    });
  }
  const why = `${type} event ${event.eventId}`;
  if (qualifying !== null && checkUpgrade(ledger, program, why, qualifying + earning.earned))
    changes.push('tier');
  const wake = member.lifecycle_wake_at?.getTime() ?? Infinity;
  const reminderAt = expiresAt.getTime() - ms(program.expiry.reminderBefore);
  if (credited?.lotId && Math.min(activatesAt?.getTime() ?? Infinity, reminderAt) < wake)
    changes.push('timers');

  return {
    earned: earning.earned,
    base: earning.base,
    bonus: earning.bonus,
    bonuses: earning.bonuses,
    capped: earning.capped,
    repaidDebt: credited?.repaid ?? 0,
    state: activatesAt ? 'pending' : 'available',
    activatesAt: activatesAt?.toISOString() ?? null,
    expiresAt: credited?.lotId ? expiresAt.toISOString() : null,
  };
}

/**
 * What the member already earned in this UTC day and month (for the caps) and, unless they are in
 * the top tier, their qualifying points in the window before this event: one round trip.
 */
async function capUsage(
  ledger: MemberLedger,
  program: Program,
  type: string,
  periods: { day: string; month: string },
): Promise<{ usage: CapUsage; qualifying: number | null }> {
  const topTier = tierIndex(program, ledger.member.tier) === program.tiers.length - 1;
  const since = new Date(ledger.now.getTime() - ms(program.tierPolicy.qualificationWindow));
  const { rows } = await ledger.trx.raw<{
    rows: { period: string; event_type: string; points: number }[];
  }>(
    `SELECT period, event_type, points FROM earning_counters
     WHERE member_id = :member AND period IN (:day, :month) AND event_type IN ('*', :type)
     UNION ALL
     SELECT 'qualifying', '', coalesce(sum(qualifying), 0)::bigint FROM ledger_entries
     WHERE :wanted AND member_id = :member AND created_at > :since AND qualifying <> 0`,
    { member: ledger.member.id, ...periods, type, wanted: !topTier, since },
  );
  const get = (period: string, t: string) =>
    rows.find((r) => r.period === period && r.event_type === t)?.points ?? 0;
  return {
    usage: {
      dayAll: get(periods.day, '*'),
      monthAll: get(periods.month, '*'),
      dayType: get(periods.day, type),
      monthType: get(periods.month, type),
    },
    qualifying: topTier ? null : Math.max(0, get('qualifying', '')),
  };
}

function countUsage(
  ledger: MemberLedger,
  type: string,
  periods: { day: string; month: string },
  points: number,
): void {
  ledger.defer(
    `INSERT INTO earning_counters (member_id, period, event_type, points)
     SELECT ?, p, t, ? FROM unnest(?::text[]) AS p, unnest(?::text[]) AS t
     ON CONFLICT (member_id, period, event_type)
     DO UPDATE SET points = earning_counters.points + excluded.points`,
    [ledger.member.id, points, [periods.day, periods.month], ['*', type]],
  );
}

function savePurchaseLines(
  ledger: MemberLedger,
  eventId: string,
  lines: PurchaseLine[],
  points: number[],
): void {
  ledger.defer(
    `INSERT INTO purchase_lines (event_id, sku, category, quantity, amount, points)
     SELECT ?, * FROM unnest(?::text[], ?::text[], ?::int[], ?::numeric[], ?::bigint[])`,
    [
      eventId,
      lines.map((l) => l.sku),
      lines.map((l) => l.category),
      lines.map((l) => l.quantity),
      lines.map((l) => l.amount),
      points,
    ],
  );
}
