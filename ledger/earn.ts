/**
 * What one earning event (a purchase, referral, review or custom type) does to a member, decided
 * in memory from the member's locked row and what it already earned: points under the rules and
 * caps, debt repaid first, the rest into a pending or active lot, the purchase lines, the cap
 * counters, reactivation, an upgrade, the outbox rows. No I/O, so `accrual-batch.ts` decides a
 * batch of events in order (several of one member's too, each seeing the ones before it) and writes
 * them all set-based in one statement.
 */
import {
  capPeriods,
  computeEarning,
  type CapUsage,
  type Earning,
  type PurchaseLine,
} from '../domain/earning';
import { ms, tierIndex, type Program } from '../domain/program';
import { Refusal, RefusalKind } from '../domain/refusal';
import type { PointsGate } from '../budgets/points';
import type { ActivityEvent } from './activity';
import type { LedgerMemberRow } from './store';
import { checkUpgrade, type LifecycleChange, type TierLedger } from './tiers';

/** The rows a batch writes, added to by each event's decision. */
export interface BatchWrites {
  entries: {
    eventId: string;
    memberId: string;
    amount: number;
    available: number;
    pending: number;
    debt: number;
    /** All of `amount` when the accrual was flagged (ledger/frozen.ts), else 0. */
    frozen: number;
    reason: string;
    actor: string;
    /** The lot the entry opens (not when all of it repaid debt). */
    lot: {
      status: 'pending' | 'active' | 'frozen';
      activatesAt: Date | null;
      expiresAt: Date;
    } | null;
  }[];
  lines: { eventId: string; line: PurchaseLine; points: number }[];
  /** Cap counters to add to, by `member|period|type`. */
  counters: Map<string, number>;
  programEvents: { type: string; memberId: string; dedupeKey: string; payload: unknown }[];
}

export const emptyWrites = (): BatchWrites => ({
  entries: [],
  lines: [],
  counters: new Map(),
  programEvents: [],
});

/** One member inside a batch: its row as the events decided so far leave it. */
export class MemberDraft implements TierLedger {
  readonly deltas = { available: 0, pending: 0, debt: 0, frozen: 0 };

  constructor(
    public member: LedgerMemberRow,
    readonly now: Date,
    /** Points earned this UTC day and month, by `period|type` ('*': every type). */
    private readonly earned: Map<string, number>,
    /** Qualifying points in the tier window; null in the top tier (never needed there). */
    private qualifying: number | null,
    private readonly writes: BatchWrites,
  ) {}

  get balances() {
    const d = this.deltas;
    return {
      available: this.member.available + d.available,
      pending: this.member.pending + d.pending,
      held: this.member.held,
      debt: this.member.debt + d.debt,
    };
  }

  set(columns: Partial<Omit<LedgerMemberRow, 'id'>>): void {
    this.member = { ...this.member, ...columns };
  }

  programEvent(type: string, dedupeKey: string, payload: Record<string, unknown>): void {
    this.writes.programEvents.push({ type, memberId: this.member.id, dedupeKey, payload });
  }

  usage(type: string, periods: { day: string; month: string }): CapUsage {
    const get = (period: string, t: string) => this.earned.get(`${period}|${t}`) ?? 0;
    return {
      dayAll: get(periods.day, '*'),
      monthAll: get(periods.month, '*'),
      dayType: get(periods.day, type),
      monthType: get(periods.month, type),
    };
  }

  /** Counts `points` towards the caps, here and in the counters the batch writes. */
  count(type: string, periods: { day: string; month: string }, points: number): void {
    for (const period of [periods.day, periods.month]) {
      for (const t of ['*', type]) {
        const key = `${period}|${t}`;
        this.earned.set(key, (this.earned.get(key) ?? 0) + points);
        const counter = `${this.member.id}|${key}`;
        this.writes.counters.set(counter, (this.writes.counters.get(counter) ?? 0) + points);
      }
    }
  }

  /** Qualifying points once `points` more are earned (null in the top tier). */
  qualify(points: number): number | null {
    if (this.qualifying !== null) this.qualifying += points;
    return this.qualifying;
  }
}

export const ruleTypeOf = (event: ActivityEvent): string =>
  event.type === 'custom' ? (event.name ?? 'custom') : event.type;

/** Refuses an event the rule set cannot earn for (before anything is decided). */
export function assertEarnable(event: ActivityEvent, version: number, program: Program): void {
  const type = ruleTypeOf(event);
  if (event.type !== 'purchase' && program.earning.eventPoints[type] === undefined) {
    const known = ['purchase', 'return', ...Object.keys(program.earning.eventPoints)];
    throw new Refusal(RefusalKind.Invalid, `Rule set v${version} has no event type '${type}'.`, [
      {
        field: event.type === 'custom' ? 'name' : 'type',
        message: `unknown event type; known: ${known.join(', ')}`,
      },
    ]);
  }
  if (event.type === 'purchase' && program.earning.pointsPerUnit[event.currency!] === undefined) {
    throw new Refusal(
      RefusalKind.Invalid,
      `Rule set v${version} does not earn in ${event.currency}.`,
      [
        {
          field: 'currency',
          message: `not earned in; accepted: ${Object.keys(program.earning.pointsPerUnit).join(', ')}`,
        },
      ],
    );
  }
}

/** What `event` earns the member of `draft` under the rules, caps and budget (counted once). */
export function earningFor(
  draft: MemberDraft,
  event: ActivityEvent,
  program: Program,
  budget: PointsGate | null,
): Earning {
  const type = ruleTypeOf(event);
  const tier = program.tiers[tierIndex(program, draft.member.tier)]!;
  const lines = (event.lines ?? []) as PurchaseLine[];
  return computeEarning(
    program,
    tier,
    { ...event, type, lines },
    draft.usage(type, capPeriods(draft.now)),
    budget ? (earned, base) => budget.allow(earned, base) : undefined,
  );
}

/**
 * Decides `event` for the member of `draft` (already checked: open, earnable) and adds its rows to
 * `writes`. Answers the points part of the event's answer and what the lifecycle workflow should
 * hear about. `frozen` (the earning detectors flagged it): the points land frozen, neither
 * spendable nor qualifying nor expiring until reviewed (ledger/frozen.ts); debt is repaid at release.
 */
export function earn(
  draft: MemberDraft,
  writes: BatchWrites,
  event: ActivityEvent,
  actor: string,
  ruleSet: { version: number; program: Program },
  budget: PointsGate | null = null,
  decided: { earning?: Earning; frozen?: boolean } = {},
): { points: Record<string, unknown>; changes: LifecycleChange[] } {
  const { program } = ruleSet;
  const type = ruleTypeOf(event);
  const now = draft.now;
  const periods = capPeriods(now);
  const lines = (event.lines ?? []) as PurchaseLine[];
  const earning = decided.earning ?? earningFor(draft, event, program, budget);
  const frozen = decided.frozen === true && earning.earned > 0;
  const changes: LifecycleChange[] = [];

  const pendingFor = event.type === 'purchase' ? program.earning.pendingPeriod : undefined;
  const activatesAt = pendingFor ? new Date(now.getTime() + ms(pendingFor)) : null;
  // A lot's life starts when it becomes spendable: a pending lot's at its activation, so it never
  // expires while pending and the member gets its whole lifetime of usable points.
  const expiresAt = new Date((activatesAt ?? now).getTime() + ms(program.expiry.lotLifetime));
  const notes = [
    earning.capped ? `${earning.capped} over cap` : '',
    earning.overBudget ? `${earning.overBudget} over the programme budget` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const reason =
    event.type === 'purchase'
      ? `purchase ${event.orderId}: ${earning.base} base${earning.bonus ? ` + ${earning.bonus} bonus` : ''}${notes ? `, ${notes}` : ''}`
      : `${type}${event.reference ? ` ${event.reference}` : ''}${notes ? `: ${notes}` : ''}`;

  // Debt is repaid first; the rest opens a lot (as `credit` in points.ts does). Frozen points
  // repay nothing yet: they are not the member's until released.
  const repaid = frozen ? 0 : Math.min(earning.earned, draft.balances.debt);
  const rest = earning.earned - repaid;
  const bucket = frozen ? 'frozen' : activatesAt ? 'pending' : 'available';
  if (earning.earned > 0) {
    writes.entries.push({
      eventId: event.eventId,
      memberId: draft.member.id,
      amount: earning.earned,
      available: bucket === 'available' ? rest : 0,
      pending: bucket === 'pending' ? rest : 0,
      frozen: bucket === 'frozen' ? rest : 0,
      debt: -repaid,
      reason: frozen ? `${reason} (frozen for review)` : reason,
      actor,
      lot:
        rest > 0
          ? {
              status: frozen ? 'frozen' : activatesAt ? 'pending' : 'active',
              activatesAt,
              expiresAt,
            }
          : null,
    });
    draft.deltas[bucket] += rest;
    draft.deltas.debt -= repaid;
    draft.count(type, periods, earning.earned);
  }
  if (event.type === 'purchase') {
    lines.forEach((line, i) =>
      writes.lines.push({ eventId: event.eventId, line, points: earning.linePoints[i]! }),
    );
  }

  const wasDormant = draft.member.status === 'dormant';
  draft.set({ last_activity_at: now, ...(wasDormant ? { status: 'active' } : {}) });
  if (wasDormant) {
    draft.programEvent('member.reactivated', `member.reactivated:${event.eventId}`, {
      reason: `${type} event ${event.eventId}`,
    });
    changes.push('status');
  }
  if (earning.earned > 0 && !frozen) {
    draft.programEvent('points.accrued', `points.accrued:${event.eventId}`, {
      eventId: event.eventId,
      points: earning.earned,
      status: activatesAt ? 'pending' : 'available',
      ruleVersion: ruleSet.version,
    });
  }
  const qualifying = draft.qualify(frozen ? 0 : earning.earned);
  if (
    qualifying !== null &&
    checkUpgrade(draft, program, `${type} event ${event.eventId}`, qualifying)
  )
    changes.push('tier');
  const wake = draft.member.lifecycle_wake_at?.getTime() ?? Infinity;
  const reminderAt = expiresAt.getTime() - ms(program.expiry.reminderBefore);
  const lotted = earning.earned > 0 && rest > 0 && !frozen;
  if (lotted && Math.min(activatesAt?.getTime() ?? Infinity, reminderAt) < wake)
    changes.push('timers');

  return {
    points: {
      earned: earning.earned,
      base: earning.base,
      bonus: earning.bonus,
      bonuses: earning.bonuses,
      capped: earning.capped,
      ...(earning.overBudget ? { overBudget: earning.overBudget } : {}),
      repaidDebt: repaid,
      state: frozen ? 'frozen' : activatesAt ? 'pending' : 'available',
      activatesAt: frozen ? null : (activatesAt?.toISOString() ?? null),
      expiresAt: lotted ? expiresAt.toISOString() : null,
    },
    changes,
  };
}
