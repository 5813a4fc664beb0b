/**
 * The reference model's own types, written from the README (section "The points ledger") and the
 * published shape of a program version (`GET /rule-sets/active`), not from the engine's code.
 * Durations stay strings, as a program version states them ("30 days", "10 seconds").
 */

export interface ModelCap {
  perDay?: number;
  perMonth?: number;
}

export interface ModelBonus {
  name: string;
  eventType: string;
  channel?: string;
  country?: string;
  category?: string;
  minAmount?: number;
  points: number;
}

export interface ModelTier {
  name: string;
  qualifyingPoints: number;
  earningMultiplier: number;
}

/** One program version as the model reads it (the fields the README's rules use). */
export interface ModelProgram {
  pointsPerUnit: Record<string, number>;
  channelMultipliers: Record<string, number>;
  categoryMultipliers: Record<string, number>;
  eventPoints: Record<string, number>;
  bonuses: ModelBonus[];
  caps: { all: ModelCap; byEventType: Record<string, ModelCap> };
  /** Purchase points stay pending this long; unset, they are available at once. */
  pendingPeriod?: string;
  tiers: ModelTier[];
  qualificationWindow: string;
  tierPeriod: string;
  gracePeriod: string;
  dormancyAfter: string;
  expiryPolicy: 'fixed' | 'activity';
  lotLifetime: string;
  reminderBefore: string;
}

/** A program version and the instant it came into force (ms since the epoch). */
export interface ModelVersion {
  version: number;
  activeFrom: number;
  program: ModelProgram;
}

export interface PurchaseLine {
  sku: string;
  category: string;
  quantity: number;
  /** Line total in cents (integers keep the arithmetic exact). */
  cents: number;
}

/** What happens to a member, at `at` (ms since the epoch). */
export type ModelEvent =
  | {
      kind: 'purchase';
      at: number;
      eventId: string;
      orderId: string;
      currency: string;
      channel: string;
      country: string;
      lines: PurchaseLine[];
    }
  | {
      kind: 'return';
      at: number;
      eventId: string;
      orderId: string;
      lines: { sku: string; quantity: number }[];
    }
  | { kind: 'fixed'; at: number; eventId: string; type: string }
  | { kind: 'adjustment'; at: number; id: string; points: number }
  | { kind: 'hold'; at: number; id: string; points: number }
  | { kind: 'redeem'; at: number; id: string }
  | { kind: 'release'; at: number; id: string }
  | { kind: 'close'; at: number };

export interface Lot {
  id: number;
  source: string;
  createdAt: number;
  /** The lot's own date, set once when it is created; under `activity` it may expire later. */
  expiresAt: number;
  points: number;
  remaining: number;
}

export interface PendingLot {
  source: string;
  orderId: string | null;
  earnedAt: number;
  activatesAt: number;
  /** The lot's own date once active: activation + the lifetime of the version it was earned under. */
  expiresAt: number;
  points: number;
}

export type LifecycleKind =
  | 'activation'
  | 'reminder'
  | 'expiry'
  | 'tier_up'
  | 'renewal'
  | 'grace'
  | 'tier_down'
  | 'dormant'
  | 'reactivated'
  | 'closed';

/** A lifecycle step the model says happened: what the engine writes as a programme event. */
export interface Happening {
  at: number;
  kind: LifecycleKind;
  points?: number;
  /** For reminders and expiries: the expiry instant. */
  expiresAt?: number;
  tier?: string;
  /** For closing: the debt written off. */
  debt?: number;
}

/** What one event did, as the answer and the ledger would show it. */
export interface EventOutcome {
  at: number;
  ref: string;
  kind: ModelEvent['kind'];
  version: number | null;
  /** Points earned (after caps), reversed (negative), adjusted, held... */
  points: number;
  capped: number;
  refused?: string;
}

export interface Balances {
  available: number;
  pending: number;
  held: number;
  debt: number;
}

export interface TierState {
  name: string;
  periodStart: number | null;
  periodEnd: number | null;
  graceEnd: number | null;
}

export interface MemberSnapshot {
  at: number;
  balances: Balances;
  lots: { source: string; createdAt: number; expiresAt: number; remaining: number }[];
  pending: { source: string; activatesAt: number; points: number }[];
  nextExpiry: number | null;
  tier: TierState;
  qualifying: number;
  status: 'active' | 'dormant' | 'closed';
}
