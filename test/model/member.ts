/**
 * One member through time: its events and the lifecycle steps due between them (pending points
 * activating, reminders, expiries, tier periods and grace, dormancy), each step at its own
 * instant under the program version in force then. Steps due at or before an event's instant run
 * before it (see QUESTIONS.md for the order of steps due at the same instant).
 */
import type {
  EventOutcome,
  Happening,
  Lot,
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
  /** For dormancy: the last qualifying activity, or the enrolment. */
  lastActivity: number;
  /** For the activity expiry policy: the last qualifying activity (null: none yet). */
  activityAt: number | null = null;
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

  /**
   * The own date of a lot whose life starts at `at` (when it becomes spendable: its creation, or a
   * pending lot's activation, Q15), with the lifetime of the version in force at `earnedAt`.
   */
  lotExpiry(at: number, earnedAt = at): number {
    return at + durationMs(this.programAt(earnedAt).lotLifetime);
  }

  /**
   * When a lot expires under the version in force at `at` (Q30, the engine's reading): its own
   * date under `fixed`; under `activity` the later of its own date and the last qualifying activity
   * (whenever it was, even before the switch) + the lifetime, so never before its own date.
   */
  expiryOf(lot: Lot, at: number): number {
    const program = this.programAt(at);
    if (program.expiryPolicy !== 'activity' || this.activityAt === null) return lot.expiresAt;
    return Math.max(lot.expiresAt, this.activityAt + durationMs(program.lotLifetime));
  }

  /** The next lifecycle step due strictly after `this.now` or at it, and when. */
  private nextDue(): number | null {
    if (this.status === 'closed') return null;
    const due: number[] = [];
    for (const p of this.ledger.pending) due.push(p.activatesAt);
    const program = this.programAt(this.now);
    const before = durationMs(program.reminderBefore);
    for (const [expiresAt] of this.ledger.expiringAt((lot) => this.expiryOf(lot, this.now))) {
      due.push(expiresAt);
      if (!this.reminded.has(expiresAt)) due.push(Math.max(expiresAt - before, this.now));
    }
    const tierAt = tierDue(this.tier);
    if (tierAt !== null) due.push(tierAt);
    if (this.status === 'active') due.push(this.lastActivity + durationMs(program.dormancyAfter));
    // A version coming into force may move effective expiry dates (a switch of policy).
    for (const v of this.versions) if (v.activeFrom > this.now) due.push(v.activeFrom);
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
      this.ledger.credit(p.points, p.source, at, p.expiresAt);
      this.happenings.push({ at, kind: 'activation', points: p.points });
    }
    this.recordExpiries(at);
    const before = durationMs(program.reminderBefore);
    const expiring = this.ledger.expiringAt((lot) => this.expiryOf(lot, at));
    for (const [expiresAt, points] of [...expiring].sort((a, b) => a[0] - b[0])) {
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
    for (const e of this.ledger.expireDue(at, (lot) => this.expiryOf(lot, at))) {
      this.happenings.push({ at, kind: 'expiry', points: e.points, expiresAt: e.expiresAt });
    }
  }

  /** Qualifying activity (any event but a return): reactivates; under `activity` extends lots. */
  activity(at: number): void {
    this.lastActivity = at;
    this.activityAt = at;
    if (this.status === 'dormant') {
      this.status = 'active';
      this.happenings.push({ at, kind: 'reactivated' });
    }
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
      expiresAt: this.expiryOf(l, at),
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
      nextExpiry: lots.length ? Math.min(...lots.map((l) => l.expiresAt)) : null,
      tier: { ...this.tier },
      qualifying: this.qualifyingAt(at),
      status: this.status,
    };
  }
}
