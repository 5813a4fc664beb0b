import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { SubstitutionActivities } from '../activities/substitutions';
import type { SubstitutionInput, SubstitutionOutcome } from '../domain/redemption';
import { postgresStep } from './activity-profiles';
import {
  decideSubstitutionUpdate,
  substitutionStateQuery,
  type SubstitutionDecision,
  type SubstitutionState,
} from './shared';

const records = proxyActivities<SubstitutionActivities>(postgresStep);

/**
 * Out of stock (`substitution:<redemptionId>`, a child of the redemption): the substitutes the
 * reward's policy allows; the closest taken at once when the policy is `auto`; otherwise ops are
 * asked and have until the deadline (with a reminder before it) to approve one or reject. The
 * decision, and who made it, is recorded and told to the member; the redemption acts on it.
 */
export async function substitutionWorkflow(input: SubstitutionInput): Promise<SubstitutionOutcome> {
  const state: SubstitutionState = {
    redemptionId: input.redemptionId,
    status: 'finding',
    candidates: [],
    deadlineAt: null,
    reminded: false,
    outcome: null,
  };
  let decision: SubstitutionDecision | null = null;
  setHandler(substitutionStateQuery, () => state);
  // Ops may see the question (its row is written by `openSubstitution`) a moment before this
  // workflow hears that the row is written: a decision then waits for the question, not a 409.
  const refusal = (request: SubstitutionDecision): ApplicationFailure | null => {
    const open =
      state.status === 'pending' || (state.status === 'finding' && input.mode === 'approval');
    if (!open || decision) {
      return ApplicationFailure.nonRetryable(
        `The substitution is ${decision ? 'being decided' : state.status}: nothing to decide.`,
        'NotPending',
      );
    }
    if (state.status === 'pending' && request.approve) {
      if (!state.candidates.some((c) => c.sku === request.sku)) {
        const offered = state.candidates.map((c) => c.sku).join(', ');
        return ApplicationFailure.nonRetryable(
          `${request.sku} is not one of the candidates (${offered}).`,
          'NotACandidate',
        );
      }
    }
    return null;
  };
  setHandler(
    decideSubstitutionUpdate,
    async (request) => {
      await condition(() => state.status !== 'finding');
      const refused = refusal(request);
      if (refused) throw refused;
      decision ??= request;
      await condition(() => state.status === 'decided');
      return state;
    },
    {
      validator: (request: SubstitutionDecision) => {
        const refused = refusal(request);
        if (refused) throw refused;
      },
    },
  );

  const ids = { redemptionId: input.redemptionId };
  const close = async (outcome: SubstitutionOutcome): Promise<SubstitutionOutcome> => {
    await records.closeSubstitution({
      ...ids,
      status: outcome.decision,
      sku: outcome.decision === 'approved' ? outcome.sku : null,
      by: outcome.by,
      reason: outcome.reason,
      at: Date.now(),
    });
    state.outcome = outcome;
    state.status = 'decided';
    return outcome;
  };

  state.candidates = await records.findCandidates(input);
  state.deadlineAt = input.mode === 'approval' ? Date.now() + input.deadlineMs : null;
  await records.openSubstitution({
    ...ids,
    memberId: input.memberId,
    rewardId: input.rewardId,
    mode: input.mode,
    candidates: state.candidates,
    deadlineAt: state.deadlineAt,
    at: Date.now(),
  });
  const first = state.candidates[0];
  if (!first) {
    const reason = 'no reward in stock matches the substitution policy';
    await close({ decision: 'no_candidates', by: 'policy', reason });
  } else if (input.mode === 'auto') {
    const reason = `closest in value of ${state.candidates.length} candidate(s)`;
    await close({ decision: 'approved', sku: first.sku, by: 'policy', reason });
  } else {
    state.status = 'pending';
    try {
      const untilReminder = Math.max(1, input.deadlineMs - input.reminderMs);
      if (!(await condition(() => decision !== null, untilReminder))) {
        await records.remindSubstitution({ ...ids, at: Date.now() });
        state.reminded = true;
        await condition(
          () => decision !== null,
          Math.max(1, Math.min(input.reminderMs, input.deadlineMs)),
        );
      }
      const d = decision as SubstitutionDecision | null;
      if (!d) await close({ decision: 'timed_out', by: 'deadline', reason: 'no decision in time' });
      else if (d.approve)
        await close({ decision: 'approved', sku: d.sku, by: d.actor, reason: d.reason });
      else await close({ decision: 'rejected', by: d.actor, reason: d.reason });
    } catch (err) {
      if (!isCancellation(err)) throw err;
      // The redemption was cancelled meanwhile: close the question, then end as cancelled.
      await CancellationScope.nonCancellable(() =>
        close({ decision: 'rejected', by: 'cancellation', reason: 'the redemption was cancelled' }),
      );
      throw err;
    }
  }
  await condition(allHandlersFinished);
  return state.outcome!;
}
