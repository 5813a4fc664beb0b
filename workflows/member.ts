import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { MemberActivities } from '../activities/members';
import { nonRetryableFailureTypes } from '../domain/failures';
import {
  memberStateQuery,
  searchAttributes,
  type MemberState,
  type MemberWorkflowInput,
} from './shared';

/** Short Postgres writes: retried with backoff, business failures not retried. */
const ledger = proxyActivities<MemberActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: nonRetryableFailureTypes,
  },
});

/**
 * The member lifecycle: one long-lived workflow per member (`member:<memberId>`), handing over to
 * a fresh run with continue-as-new when its history grows.
 */
export async function memberWorkflow(
  input: MemberWorkflowInput,
  carried?: MemberState,
): Promise<void> {
  const state: MemberState = carried ?? { ...input, enrolmentRecorded: false };

  setHandler(memberStateQuery, () => state);

  upsertSearchAttributes([
    { key: searchAttributes.MemberId, value: state.memberId },
    { key: searchAttributes.Tier, value: state.tier },
    { key: searchAttributes.MemberStatus, value: state.status },
  ]);

  if (!state.enrolmentRecorded) {
    await ledger.recordMemberEnrolled({
      memberId: state.memberId,
      externalId: state.externalId,
      tier: state.tier,
    });
    state.enrolmentRecorded = true;
  }

  await condition(() => workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof memberWorkflow>(input, state);
}
