/**
 * What ops read about a redemption, beyond its status: who did each step and why, whether it is
 * at risk of breaching its delivery SLA, and what the caller may do with it now. Pure: the API
 * and the tests compute it the same way.
 */
import { FailureType } from './failures';
import {
  cancellableStatuses,
  type RedemptionStatus,
  type RewardKind,
  type TimelineStep,
} from './redemption';
import { roleAllows, type Role } from './roles';

/**
 * Not yet delivered (or issued) and not ended: the delivery SLA is running. Its clock starts at
 * the request and restarts when the parcel ships (the workflow's breach and service-recovery
 * credit count from shipping): the deadline is `(shipped at, else requested at) + deliverySla`.
 */
export const slaOpenStatuses: readonly RedemptionStatus[] = [
  'requested',
  'points_held',
  'in_review',
  'substitution_pending',
  'backordered',
  'stock_reserved',
  'shipment_requested',
  'shipped',
];

export interface SlaInput {
  status: RedemptionStatus;
  createdAt: Date;
  shippedAt: Date | null;
  /** The workflow recorded an `sla_breached` step. */
  breachRecorded: boolean;
}

export interface Sla {
  /** By when it must be delivered; null once it no longer waits for delivery. */
  slaDeadline: string | null;
  /** Past its deadline while open, or the workflow recorded a breach. */
  slaBreached: boolean;
  /** Open and within `marginMs` of its deadline, or past it. */
  atRisk: boolean;
}

export function slaOf(
  input: SlaInput,
  policy: { deliverySlaMs: number; marginMs: number },
  now: Date,
): Sla {
  if (!slaOpenStatuses.includes(input.status)) {
    return { slaDeadline: null, slaBreached: input.breachRecorded, atRisk: false };
  }
  const deadline = (input.shippedAt ?? input.createdAt).getTime() + policy.deliverySlaMs;
  return {
    slaDeadline: new Date(deadline).toISOString(),
    slaBreached: input.breachRecorded || now.getTime() > deadline,
    atRisk: now.getTime() >= deadline - policy.marginMs,
  };
}

export const redemptionActions = ['cancel', 'review', 'return', 'settle'] as const;
export type RedemptionAction = (typeof redemptionActions)[number];

/**
 * What `role` may do with the redemption now: cancel until the parcel ships (or the code or card
 * is issued); approve or reject one held in review; return a delivered physical reward within the program's
 * return window; settle (spend or release) points its closed workflow left held. Only `ops`
 * (and `admin`) act; the server refuses the same things this leaves out.
 */
export function allowedActions(
  role: Role,
  redemption: {
    status: RedemptionStatus;
    /** When the parcel was delivered (null: not delivered). */
    deliveredAt: Date | null;
    /** Points still held while its workflow is closed: ops settle them (spend or release). */
    strandedHold?: boolean;
  },
  returnWindowMs: number,
  now: Date,
): RedemptionAction[] {
  if (!roleAllows(role, 'ops')) return [];
  // Its workflow is closed: nothing runs to cancel or review it; only the hold is left to settle.
  if (redemption.strandedHold) return ['settle'];
  const actions: RedemptionAction[] = [];
  if (cancellableStatuses.includes(redemption.status)) actions.push('cancel');
  if (redemption.status === 'in_review') actions.push('review');
  if (
    redemption.status === 'completed' &&
    withinReturnWindow(redemption.deliveredAt, returnWindowMs, now)
  ) {
    actions.push('return');
  }
  return actions;
}

/**
 * The return window runs from delivery (the member cannot send back what they do not have), not
 * from the request: open while `now` is within `returnWindowMs` of `deliveredAt`, edge included.
 */
export function withinReturnWindow(
  deliveredAt: Date | null,
  returnWindowMs: number,
  now: Date,
): boolean {
  return deliveredAt !== null && now.getTime() - deliveredAt.getTime() <= returnWindowMs;
}

export const actorTypes = ['key', 'system', 'partner'] as const;
export type ActorType = (typeof actorTypes)[number];

export interface StepActor {
  /** `<role>:<key name>` for an API key, `system:<what>` or `partner:<which>`. */
  actor: string;
  actorType: ActorType;
  /** Why, for cancels, returns, substitutions, failures, losses and SLA breaches. */
  reason: string | null;
}

const system = (what: string, reason: string | null = null): StepActor => ({
  actor: `system:${what}`,
  actorType: 'system',
  reason,
});
const partner = (which: string, reason: string | null = null): StepActor => ({
  actor: `partner:${which}`,
  actorType: 'partner',
  reason,
});
/** An actor as recorded: an API key's `<role>:<name>`, or a bare word (`policy`, `deadline`). */
const recorded = (by: unknown, reason: string | null): StepActor =>
  typeof by === 'string' && by.includes(':')
    ? { actor: by, actorType: 'key', reason }
    : system(typeof by === 'string' && by ? by : 'workflow', reason);

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

const partnerFailures: readonly string[] = [
  FailureType.GiftCardDeclined,
  FailureType.InsufficientFloat,
  FailureType.PartnerRejected,
];

/**
 * Who did a step and why, from what the workflow recorded. A cancel's reason was recorded as
 * `cancelled by <actor>: <reason>`; a gift card is issued by its provider, a parcel shipped and
 * delivered by the warehouse; everything else is the workflow's own doing.
 */
export function actorOf(
  step: TimelineStep['status'],
  detail: Record<string, unknown>,
  reward: { kind: RewardKind; provider: string | null } | null,
): StepActor {
  const reason = text(detail.reason);
  const fulfiller = reward?.kind === 'gift_card' ? (reward.provider ?? 'giftcards') : 'warehouse';
  switch (step) {
    case 'delivered_after_lost':
      return partner('warehouse', reason);
    case 'shipped':
    case 'delivered':
    case 'shipment_confirmed':
      return partner('warehouse');
    case 'issued':
      return reward?.kind === 'gift_card' ? partner(fulfiller) : system('workflow');
    case 'substituted':
    case 'substitution_declined':
    case 'returned':
    case 'settled':
      return recorded(detail.by, reason);
    case 'cancelled': {
      const byKey = reason && /^cancelled by (\S+?:.+?): ([\s\S]*)$/.exec(reason);
      if (byKey) return { actor: byKey[1]!, actorType: 'key', reason: byKey[2]! };
      return system('temporal', reason);
    }
    case 'failed':
      return partnerFailures.includes(text(detail.failureType) ?? '')
        ? partner(fulfiller, reason)
        : system('workflow', reason);
    case 'sla_breached':
      return system(
        'workflow',
        'not delivered within the delivery SLA' +
          (Number(detail.credited) > 0 ? `; ${Number(detail.credited)} points credited` : ''),
      );
    default:
      return system('workflow', reason);
  }
}
