/**
 * One redemption's live state, shared by the playbook, the fulfilment steps and the message
 * handlers: what the query shows, the cancel asked for, the warehouse's word, the saga. Steps are
 * numbered and timed here and written by the activity whose effect they describe.
 */
import { upsertSearchAttributes } from '@temporalio/workflow';
import {
  redemptionStatuses,
  type RedemptionStatus,
  type ReviewDecision,
  type TimelineStep,
} from '../../domain/redemption';
import type { StepInput } from '../../redemptions/records';
import { searchAttributes, type RedemptionState, type RedemptionWorkflowInput } from '../shared';
import { postgres } from './activities';
import { Cancelled } from './endings';
import { Saga } from './saga';

type StepName = TimelineStep['status'];

/** A step to write: its name and what it says. */
export type StepSpec = [StepName, Record<string, unknown>?];

export class RedemptionRun {
  readonly state: RedemptionState;
  readonly ids: { redemptionId: string; memberId: string };
  readonly saga = new Saga();
  cancel: { actor: string; reason: string } | null = null;
  /** Ops' decision on a review hold, once asked (then no other is taken). */
  review: ReviewDecision | null = null;
  /** The review decision is written (the `reviewRedemption` update answers then). */
  reviewDecided = false;
  shipped = false;
  delivered = false;
  /** What `return:<id>` said of the reward since it completed (see ./return-window.ts). */
  returned: 'returned' | 'refunded' | null = null;
  /** Null: not yet upserted by the workflow (the member and reward go with the first). */
  private published: RedemptionStatus | null;
  /** The highest step number shown, or given to a call that may have written it. */
  private lastSeq = 0;

  /**
   * `lean` (runs since `redemption-lean-v3`): the API's start already set the search attributes
   * (status `requested`, member, reward), and the status is upserted at an ending and before the
   * waits a person may have to act on (substitution, backorder), not before the usual path's
   * waits: each upsert is a history event, and Postgres is where the live status is read.
   */
  constructor(
    readonly input: RedemptionWorkflowInput,
    readonly lean = false,
  ) {
    this.published = lean ? 'requested' : null;
    this.ids = { redemptionId: input.redemptionId, memberId: input.memberId };
    this.state = {
      redemptionId: input.redemptionId,
      status: 'requested',
      plan: null,
      timeline: [],
      reason: null,
      failureType: null,
      shipment: null,
      giftCard: null,
      coupon: null,
      slaBreached: false,
    };
  }

  /**
   * The next steps, numbered after those shown or perhaps written (a retried activity writes each
   * once, by its number) and timed now. A step named after a status moves the redemption to it.
   */
  steps(...specs: StepSpec[]): StepInput[] {
    const at = Date.now();
    return specs.map(([name, detail = {}], i) => ({
      ...this.ids,
      seq: this.lastSeq + 1 + i,
      step: { status: name, at, detail },
      status: redemptionStatuses.find((s) => s === name) ?? null,
      reason: this.state.reason,
    }));
  }

  /** Steps Postgres has (their activity answered), shown by the query: never one before. */
  shown(steps: StepInput[], detail: Record<string, unknown> = {}): void {
    this.mayHaveWritten(steps);
    for (const { step, status } of steps) {
      this.state.timeline.push({ ...step, detail: { ...step.detail, ...detail } });
      if (status) this.state.status = status;
    }
  }

  /**
   * Steps given to a call whose answer never came (retries ran out): it may have written them
   * all the same, so their numbers are not given again (the step that follows would be dropped).
   */
  mayHaveWritten(steps: StepInput[]): void {
    for (const { seq } of steps) this.lastSeq = Math.max(this.lastSeq, seq);
  }

  /**
   * A step with no effect of its own (a decision, an ending): written by a local activity.
   * `status`: the status it moves the redemption to, when not named by the step.
   */
  async record(
    name: StepName,
    detail: Record<string, unknown> = {},
    status?: RedemptionStatus,
  ): Promise<void> {
    const [step] = this.steps([name, detail]);
    if (status) step!.status = status;
    await postgres.recordRedemption(step!);
    this.shown([step!]);
  }

  /** Before a wait on the usual path (the warehouse, the gift-card provider): see `lean`. */
  publishInFlight(): void {
    if (!this.lean) this.publish();
  }

  /**
   * The status as the `RedemptionStatus` search attribute (with the member and reward, the first
   * time). Called before a wait or at the ending rather than at each step, so a workflow task
   * that writes several steps adds one upsert to the history, not one per step.
   */
  publish(): void {
    if (this.published === this.state.status) return;
    upsertSearchAttributes([
      { key: searchAttributes.RedemptionStatus, value: this.state.status },
      ...(this.published === null
        ? [
            { key: searchAttributes.MemberId, value: this.input.memberId },
            { key: searchAttributes.RewardSku, value: this.input.rewardId },
          ]
        : []),
    ]);
    this.published = this.state.status;
  }

  checkCancelled(): void {
    if (this.cancel) throw new Cancelled(this.cancel.reason);
  }
}
