/**
 * Definitions both sides of the wire share: workflow IDs, message definitions and search
 * attributes. No I/O here: the API, the workers and the workflow sandbox all import it.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { LifecycleChange, MemberStatus } from '../domain/member';
import type {
  ReviewDecision,
  RedemptionPlan,
  RedemptionRequest,
  RedemptionStatus,
  SubstitutionOutcome,
  TimelineStep,
} from '../domain/redemption';
import type { Candidate } from '../redemptions/substitutions';

/** Workflow IDs are business keys, readable in Temporal UI. */
export const workflowIds = {
  member: (memberId: string): string => `member:${memberId}`,
  redemption: (redemptionId: string): string => `redemption:${redemptionId}`,
  substitution: (redemptionId: string): string => `substitution:${redemptionId}`,
  return: (redemptionId: string): string => `return:${redemptionId}`,
  webhook: (subscriptionId: string, eventId: string): string =>
    `webhook:${subscriptionId}:${eventId}`,
  webhookDispatcher: (taskQueue: string): string => `webhook-dispatcher:${taskQueue}`,
  webhookSubscription: (subscriptionId: string): string => `webhook-subscription:${subscriptionId}`,
  ruleChange: (changeId: string): string => `rule-change:${changeId}`,
  simulation: (simulationId: string): string => `simulation:${simulationId}`,
  launch: (launchId: string): string => `launch:${launchId}`,
  /** The housekeeping Schedule and the workflows it starts (the Schedule adds the time). */
  housekeeping: (taskQueue: string): string => `housekeeping:${taskQueue}`,
};

/** Every custom search attribute the workflows set; `npm start` registers them on the server. */
export const searchAttributes = {
  MemberId: defineSearchAttributeKey('MemberId', SearchAttributeType.KEYWORD),
  Tier: defineSearchAttributeKey('Tier', SearchAttributeType.KEYWORD),
  MemberStatus: defineSearchAttributeKey('MemberStatus', SearchAttributeType.KEYWORD),
  RedemptionStatus: defineSearchAttributeKey('RedemptionStatus', SearchAttributeType.KEYWORD),
  RewardSku: defineSearchAttributeKey('RewardSku', SearchAttributeType.KEYWORD),
  /** draft, proposed, approved, scheduled, launching, active, rejected, withdrawn, rolled-back */
  RuleChangeState: defineSearchAttributeKey('RuleChangeState', SearchAttributeType.KEYWORD),
  /** The rule change a simulation or a launch belongs to. */
  RuleChangeId: defineSearchAttributeKey('RuleChangeId', SearchAttributeType.KEYWORD),
  /** preparing, waiting, soft-launched, monitoring, paused, promoting, live, rolled-back, cancelled */
  LaunchState: defineSearchAttributeKey('LaunchState', SearchAttributeType.KEYWORD),
};

export interface MemberWorkflowInput {
  memberId: string;
  externalId: string;
  tier: string;
  status: MemberStatus;
}

export interface MemberState extends MemberWorkflowInput {
  enrolmentRecorded: boolean;
  /** Epoch ms of the next due lifecycle step (the timer the workflow sleeps on), if any. */
  wakeAt: number | null;
  lastReview: { at: number; happened: string[] } | null;
}

export const memberStateQuery = defineQuery<MemberState>('memberState');

/**
 * Sent by the API after a change the workflow must act on: a tier or status change (search
 * attributes to update), a member closed, or points whose timers come before its next wake-up.
 */
export const lifecycleChangedSignal = defineSignal<[LifecycleChange[]]>('lifecycleChanged');

export type RedemptionWorkflowInput = RedemptionRequest;

/** What the `redemptionState` query answers: the live status and everything decided so far. */
export interface RedemptionState {
  redemptionId: string;
  status: RedemptionStatus;
  plan: RedemptionPlan | null;
  timeline: TimelineStep[];
  /** Why it failed or was cancelled. */
  reason: string | null;
  failureType: string | null;
  shipment: { trackingNumber: string } | null;
  /** `status`: as the provider's callbacks report it (read from Postgres once ended). */
  giftCard: { cardId: string; code: string; status?: string } | null;
  coupon: { code: string } | null;
  slaBreached: boolean;
}

export const redemptionStateQuery = defineQuery<RedemptionState>('redemptionState');

/**
 * Cancels until the parcel leaves the warehouse (a shipment already requested is cancelled there
 * first); refused (the validator throws) once shipped, issued or ended.
 */
export const cancelRedemptionUpdate = defineUpdate<
  RedemptionState,
  [{ actor: string; reason: string }]
>('cancelRedemption');

/**
 * Ops decide a redemption held in review: approve (fulfilment goes on) or reject (the hold is
 * released). Refused by its validator unless `in_review` and undecided, from ops or admin, with a
 * reason. Answers the state once the decision is written.
 */
export const reviewRedemptionUpdate = defineUpdate<RedemptionState, [ReviewDecision]>(
  'reviewRedemption',
);

/** How the first step ended: the points held, or the redemption refused (and why). */
export type HeldOutcome =
  | { outcome: 'held'; status: RedemptionStatus; points: number; tier: string }
  | { outcome: 'refused'; status: RedemptionStatus; reason: string; failureType: string };

/**
 * Answered once the hold's outcome is known (the step and the row are in Postgres by then): sent
 * with the start by `POST /redemptions` (update-with-start), so the caller needs no poll for it.
 */
export const heldUpdate = defineUpdate<HeldOutcome>('held');

/** A partner's word on the shipment (from its verified callback): shipped, then delivered. */
export interface ShipmentEvent {
  type: 'shipment.shipped' | 'shipment.delivered';
  trackingNumber?: string | undefined;
  at: string;
}

/** New deliveries in a subscription's queue (sent only when its workflow went to sleep). */
export const wakeSubscriptionSignal = defineSignal('wakeSubscription');

export const shipmentEventSignal = defineSignal<[ShipmentEvent]>('shipmentEvent');

/**
 * From `return:<id>` to `redemption:<id>`: the reward came back and (`refunded`) its points went
 * back to the member. The redemption workflow, waiting out its return window, shows the status.
 */
export const redemptionReturnedSignal =
  defineSignal<[{ status: 'returned' | 'refunded' }]>('redemptionReturned');

/** What the `substitutionState` query answers. */
export interface SubstitutionState {
  redemptionId: string;
  status: 'finding' | 'pending' | 'decided';
  candidates: Candidate[];
  deadlineAt: number | null;
  reminded: boolean;
  outcome: SubstitutionOutcome | null;
}

export const substitutionStateQuery = defineQuery<SubstitutionState>('substitutionState');

/** Ops decide a pending substitution: approve one of the candidates, or reject. */
export type SubstitutionDecision =
  | { approve: true; sku: string; actor: string; reason: string }
  | { approve: false; actor: string; reason: string };

export const decideSubstitutionUpdate = defineUpdate<SubstitutionState, [SubstitutionDecision]>(
  'decideSubstitution',
);

// --- Change control (issue #11): the contracts between rule changes, simulations and launches ---

export type RuleChangeState =
  | 'draft'
  | 'proposed'
  | 'approved'
  | 'scheduled'
  | 'launching'
  | 'active'
  | 'rejected'
  | 'withdrawn'
  | 'rolled-back';

/** Who asks for a change-control step, as the API authenticated them (validators check `role`). */
export interface ChangeActor {
  /** The audit actor string, `<role>:<key name>`. */
  actor: string;
  role: 'admin' | 'ops' | 'partner' | 'readonly';
}

/**
 * A launch takes an approved rule change over (the change goes `launching`); refused by the
 * validator unless the change is `approved`. Answers the version the launch rolls out (published at
 * approval) and the version in force it would fall back to.
 */
export const attachLaunchUpdate = defineUpdate<
  { version: number; baseVersion: number },
  [ChangeActor & { launchId: string }]
>('attachLaunch');

/**
 * The launch's end, told to its rule change: `promoted` (the version is now in force for everyone:
 * the change is `active`), `rolled-back` (the change is `rolled-back`), `cancelled` (the change is
 * `approved` again, free to be scheduled or launched anew).
 */
export const launchEndedSignal = defineSignal<
  [
    {
      launchId: string;
      outcome: 'promoted' | 'rolled-back' | 'cancelled';
      actor: string;
      reason: string;
    },
  ]
>('launchEnded');

/** What a simulation replays: a proposed program over the stored events of a window. */
export interface SimulationInput {
  simulationId: string;
  /** The proposed program (a `ProgramInput`, validated by the API). */
  program: unknown;
  /** The version it is compared with (what the events actually earned under, when unset). */
  baseVersion?: number | undefined;
  /** ISO instants; events with `occurred_at` in [from, to). */
  window: { from: string; to: string };
  changeId?: string | undefined;
  actor: string;
}
