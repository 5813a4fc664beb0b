/**
 * Definitions both sides of the wire share: workflow IDs, message definitions and search
 * attributes. No I/O here: the API, the workers and the workflow sandbox all import it.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { LifecycleChange, MemberStatus } from '../domain/member';

/** Workflow IDs are business keys, readable in Temporal UI. */
export const workflowIds = {
  member: (memberId: string): string => `member:${memberId}`,
  redemption: (redemptionId: string): string => `redemption:${redemptionId}`,
};

/** Every custom search attribute the workflows set; `npm start` registers them on the server. */
export const searchAttributes = {
  MemberId: defineSearchAttributeKey('MemberId', SearchAttributeType.KEYWORD),
  Tier: defineSearchAttributeKey('Tier', SearchAttributeType.KEYWORD),
  MemberStatus: defineSearchAttributeKey('MemberStatus', SearchAttributeType.KEYWORD),
  RedemptionStatus: defineSearchAttributeKey('RedemptionStatus', SearchAttributeType.KEYWORD),
  RewardSku: defineSearchAttributeKey('RewardSku', SearchAttributeType.KEYWORD),
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
