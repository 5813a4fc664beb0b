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
import { withMember, type LedgerMemberRow, type MemberKey, type MemberLedger } from './store';
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

interface StoredEvent {
  request_hash: string;
  response: EventAnswer;
}

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
    return await withMember(
      db,
      key,
      async (ledger) => {
        const stored = await findEvent(ledger, event.eventId);
        if (stored) return replay(stored, hash, event.eventId);
        ledger.assertOpen();
        const ruleSet = await loadRuleSet(ledger.trx);
        const changes: LifecycleChange[] = [];
        const points =
          event.type === 'return'
            ? await recordReturn(ledger, event, actor, ruleSet.version)
            : await earn(ledger, event, actor, ruleSet.version, ruleSet.program, changes);
        const member = ledger.member;
        const body: EventAnswer = {
          eventId: event.eventId,
          memberId: member.id,
          type: ruleTypeOf(event),
          ruleVersion: ruleSet.version,
          points,
          balance: ledger.balances,
          tier: member.tier,
          status: member.status,
        };
        await ledger.trx.raw(
          `INSERT INTO ledger_events (id, member_id, type, order_id, request_hash, payload, response,
             rule_version, occurred_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            event.eventId,
            member.id,
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
        return { status: 201, body, replayed: false, changes, member };
      },
      now,
    );
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

async function findEvent(ledger: MemberLedger, eventId: string): Promise<StoredEvent | undefined> {
  const { rows } = await ledger.trx.raw<{ rows: StoredEvent[] }>(
    'SELECT request_hash, response FROM ledger_events WHERE id = ?',
    [eventId],
  );
  return rows[0];
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
  const usage = await capUsage(ledger, type, periods);
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
    await savePurchaseLines(ledger, event.eventId, lines, earning.linePoints);
  if (earning.earned > 0) await countUsage(ledger, type, periods, earning.earned);

  const wasDormant = member.status === 'dormant';
  await ledger.save({ last_activity_at: now, ...(wasDormant ? { status: 'active' } : {}) });
  if (wasDormant) {
    await ledger.programEvent('member.reactivated', `member.reactivated:${event.eventId}`, {
      reason: `${type} event ${event.eventId}`,
    });
    changes.push('status');
  }
  if (earning.earned > 0) {
    await ledger.programEvent('points.accrued', `points.accrued:${event.eventId}`, {
      eventId: event.eventId,
      points: earning.earned,
      status: activatesAt ? 'pending' : 'available',
      ruleVersion: version,
    });
  }
  if (await checkUpgrade(ledger, program, `${type} event ${event.eventId}`)) changes.push('tier');
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

async function capUsage(
  ledger: MemberLedger,
  type: string,
  periods: { day: string; month: string },
): Promise<CapUsage> {
  const { rows } = await ledger.trx.raw<{
    rows: { period: string; event_type: string; points: number }[];
  }>(
    `SELECT period, event_type, points FROM earning_counters
     WHERE member_id = ? AND period IN (?, ?) AND event_type IN ('*', ?)`,
    [ledger.member.id, periods.day, periods.month, type],
  );
  const get = (period: string, t: string) =>
    rows.find((r) => r.period === period && r.event_type === t)?.points ?? 0;
  return {
    dayAll: get(periods.day, '*'),
    monthAll: get(periods.month, '*'),
    dayType: get(periods.day, type),
    monthType: get(periods.month, type),
  };
}

async function countUsage(
  ledger: MemberLedger,
  type: string,
  periods: { day: string; month: string },
  points: number,
): Promise<void> {
  await ledger.trx.raw(
    `INSERT INTO earning_counters (member_id, period, event_type, points)
     SELECT ?, p, t, ? FROM unnest(?::text[]) AS p, unnest(?::text[]) AS t
     ON CONFLICT (member_id, period, event_type)
     DO UPDATE SET points = earning_counters.points + excluded.points`,
    [ledger.member.id, points, [periods.day, periods.month], ['*', type]],
  );
}

async function savePurchaseLines(
  ledger: MemberLedger,
  eventId: string,
  lines: PurchaseLine[],
  points: number[],
): Promise<void> {
  await ledger.trx.raw(
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
