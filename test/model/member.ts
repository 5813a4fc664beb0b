/**
 * One member through time: its events and the lifecycle steps due between them (pending points
 * activating, reminders, expiries, tier periods and grace, dormancy), each step at its own
 * instant under the program version in force then. Steps due at or before an event's instant run
 * before it (see QUESTIONS.md for the order of steps due at the same instant).
 */
import type {
  EventOutcome,
  Happening,
  MemberSnapshot,
  ModelEvent,
  ModelProgram,
  ModelVersion,
  TierState,
} from './types';
import { durationMs } from './time';
import { PointsLedger } from './ledger';
import { QualifyingPoints, reviewTier, tierDue, tierIndex, upgradeIfReached } from './tiers';
import { applyEvent } from './events';
import type { CapUsage } from './earning';

export interface OrderRecord {
  source: string;
  earned: number;
  reversed: number;
  /** Each line's share of `earned` (what returning all of it reverses). */
  shares: number[];
  skus: string[];
  quantities: number[];
  returned: number[];
}

export function versionAt(versions: ModelVersion[], at: number): ModelVersion {
  let found: ModelVersion | undefined;
  for (const v of versions)
    if (v.activeFrom <= at && (!found || v.activeFrom >= found.activeFrom)) found = v;
  if (!found) throw new Error(`no program version in force at ${new Date(at).toISOString()}`);
  return found;
}

export class MemberModel {
  readonly ledger = new PointsLedger();
  readonly qualifying = new QualifyingPoints();
  readonly caps: CapUsage = new Map();
  readonly orders = new Map<string, OrderRecord>();
  readonly happenings: Happening[] = [];
  readonly outcomes: EventOutcome[] = [];
  readonly tier: TierState;
  status: 'active' | 'dormant' | 'closed' = 'active';
  lastActivity: number;
  now: number;
  private reminded = new Set<number>();

  constructor(
    readonly versions: ModelVersion[],
    readonly enrolledAt: number,
  ) {
    this.tier = {
      name: versionAt(versions, enrolledAt).program.tiers[0]?.name ?? '',
      periodStart: null,
      periodEnd: null,
      graceEnd: null,
    };
    this.lastActivity = enrolledAt;
    this.now = enrolledAt;
  }

  programAt(at: number): ModelProgram {
    return versionAt(this.versions, at).program;
  }

  qualifyingAt(at: number): number {
    return this.qualifying.at(at, this.programAt(at).qualificationWindow);
  }

  /** Expiry of a lot created now (both policies start a lot's life when it is created). */
  lotExpiry(at: number): number {
    return at + durationMs(this.programAt(at).lotLifetime);
  }

  /** The next lifecycle step due strictly after `this.now` or at it, and when. */
  private nextDue(): number | null {
    if (this.status === 'closed') return null;
    const due: number[] = [];
    for (const p of this.ledger.pending) due.push(p.activatesAt);
    const program = this.programAt(this.now);
    const before = durationMs(program.reminderBefore);
    for (const [expiresAt] of this.ledger.expiringAt()) {
      due.push(expiresAt);
      if (!this.reminded.has(expiresAt)) due.push(Math.max(expiresAt - before, this.now));
    }
    const tierAt = tierDue(this.tier);
    if (tierAt !== null) due.push(tierAt);
    if (this.status === 'active') due.push(this.lastActivity + durationMs(program.dormancyAfter));
    return due.length === 0 ? null : Math.min(...due);
  }

  /** Run every lifecycle step due at or before `to`, in time order. */
  advanceTo(to: number): void {
    for (;;) {
      const at = this.nextDue();
      if (at === null || at > to) break;
      this.now = Math.max(this.now, at);
      this.runDue(this.now);
    }
    this.now = Math.max(this.now, to);
  }

  /** Steps due at `at`: activation, expiry, reminders, tier review, dormancy. */
  private runDue(at: number): void {
    const program = this.programAt(at);
    for (const p of this.ledger.pending.filter((x) => x.activatesAt <= at)) {
      this.ledger.pending.splice(this.ledger.pending.indexOf(p), 1);
      this.ledger.credit(p.points, p.source, at, this.lotExpiry(at));
      this.happenings.push({ at, kind: 'activation', points: p.points });
    }
    this.recordExpiries(at);
    const before = durationMs(program.reminderBefore);
    for (const [expiresAt, points] of [...this.ledger.expiringAt()].sort((a, b) => a[0] - b[0])) {
      if (this.reminded.has(expiresAt) || expiresAt - before > at) continue;
      this.reminded.add(expiresAt);
      this.happenings.push({ at, kind: 'reminder', points, expiresAt });
    }
    const tierAt = tierDue(this.tier);
    if (tierAt !== null && tierAt <= at)
      reviewTier(program, this.tier, this.qualifyingAt(at), at, this.happenings);
    if (this.status === 'active' && this.lastActivity + durationMs(program.dormancyAfter) <= at) {
      this.status = 'dormant';
      this.happenings.push({ at, kind: 'dormant' });
    }
  }

  recordExpiries(at: number): void {
    for (const e of this.ledger.expireDue(at)) {
      this.happenings.push({ at, kind: 'expiry', points: e.points, expiresAt: e.expiresAt });
    }
  }

  /** Qualifying activity (any event but a return): reactivates, and under `activity` extends lots. */
  activity(at: number): void {
    this.lastActivity = at;
    if (this.status === 'dormant') {
      this.status = 'active';
      this.happenings.push({ at, kind: 'reactivated' });
    }
    const program = this.programAt(at);
    if (program.expiryPolicy !== 'activity') return;
    const until = at + durationMs(program.lotLifetime);
    for (const lot of this.ledger.lots)
      if (lot.expiresAt > at && lot.expiresAt < until) lot.expiresAt = until;
  }

  upgrade(at: number): void {
    upgradeIfReached(this.programAt(at), this.tier, this.qualifyingAt(at), at, this.happenings);
  }

  tierMultiplier(at: number): number {
    const program = this.programAt(at);
    return program.tiers[tierIndex(program, this.tier.name)]?.earningMultiplier ?? 1;
  }

  apply(event: ModelEvent): EventOutcome {
    this.advanceTo(event.at);
    const outcome = applyEvent(this, event);
    this.outcomes.push(outcome);
    return outcome;
  }

  snapshot(at: number): MemberSnapshot {
    this.advanceTo(at);
    const lots = this.ledger.spendOrder().map((l) => ({
      source: l.source,
      createdAt: l.createdAt,
      expiresAt: l.expiresAt,
      remaining: l.remaining,
    }));
    return {
      at,
      balances: this.ledger.balances(),
      lots,
      pending: this.ledger.pending.map((p) => ({
        source: p.source,
        activatesAt: p.activatesAt,
        points: p.points,
      })),
      nextExpiry: lots[0]?.expiresAt ?? null,
      tier: { ...this.tier },
      qualifying: this.qualifyingAt(at),
      status: this.status,
    };
  }
}
