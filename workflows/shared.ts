/**
 * Definitions both sides of the wire share: workflow IDs, message definitions and search
 * attributes. No I/O here: the API, the workers and the workflow sandbox all import it.
 */
import { defineQuery } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { MemberStatus } from '../domain/member';

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
}

export const memberStateQuery = defineQuery<MemberState>('memberState');
