import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { MemberActivities } from '../activities/members';
import { postgresLocalStep, postgresStep } from './activity-profiles';
import {
  lifecycleChangedSignal,
  memberStateQuery,
  searchAttributes,
  type MemberState,
  type MemberWorkflowInput,
} from './shared';

/** Marks runs started since enrolment writes `member.enrolled` itself: they skip the activity. */
const enrolmentInTransactionPatch = 'member-enrolled-in-enrolment-transaction';

/**
 * Marks runs that review as a local activity: the review is one idempotent Postgres transaction,
 * so running it inside the workflow task saves an activity task's round trip through the server
 * and the second workflow task after it, for each signal and each timer (measured: most of the
 * Temporal and worker CPU of an accrual batch, one review per tier change).
 */
const localReviewPatch = 'member-review-local-activity';

const ledger = proxyActivities<MemberActivities>(postgresStep);
const local = proxyLocalActivities<MemberActivities>(postgresLocalStep);

/**
 * The member lifecycle: one long-lived workflow per member (`member:<memberId>`). It sleeps on a
 * durable timer until the next lifecycle step is due (points to activate, a reminder, an expiry,
 * dormancy, the end of a tier period or grace), runs the due steps in one activity, and keeps the
 * `Tier` and `MemberStatus` search attributes current. The API signals it when a change outside
 * (an upgrade, a reactivation, new points, closing) needs it sooner. A closed member's workflow
 * completes; a long history hands over to a fresh run with continue-as-new.
 */
export async function memberWorkflow(
  input: MemberWorkflowInput,
  carried?: MemberState,
): Promise<void> {
  const state: MemberState = carried ?? {
    ...input,
    enrolmentRecorded: false,
    wakeAt: null,
    lastReview: null,
  };
  let changed = true;

  setHandler(memberStateQuery, () => state);
  setHandler(lifecycleChangedSignal, () => {
    changed = true;
  });

  const publish = (): void =>
    upsertSearchAttributes([
      { key: searchAttributes.MemberId, value: state.memberId },
      { key: searchAttributes.Tier, value: state.tier },
      { key: searchAttributes.MemberStatus, value: state.status },
    ]);
  publish();

  // `member.enrolled` is written with the member row now (api/members.ts, the outbox). Runs
  // started before that still record it here (an idempotent insert), so their histories replay.
  if (!state.enrolmentRecorded && !patched(enrolmentInTransactionPatch)) {
    await ledger.recordMemberEnrolled({
      memberId: state.memberId,
      externalId: state.externalId,
      tier: state.tier,
    });
  }
  state.enrolmentRecorded = true;

  for (;;) {
    const due = state.wakeAt !== null && Date.now() >= state.wakeAt;
    if (changed || due) {
      changed = false;
      const reviewer = patched(localReviewPatch) ? local : ledger;
      const review = await reviewer.reviewMember({ memberId: state.memberId, asOf: Date.now() });
      const moved = review.tier !== state.tier || review.status !== state.status;
      Object.assign(state, { tier: review.tier, status: review.status, wakeAt: review.wakeAt });
      state.lastReview = { at: Date.now(), happened: review.happened };
      if (moved) publish();
      if (review.status === 'closed') return;
    }
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof memberWorkflow>(input, state);
    }
    const sleep = state.wakeAt === null ? undefined : Math.max(1, state.wakeAt - Date.now());
    await condition(() => changed || workflowInfo().continueAsNewSuggested, sleep);
  }
}
