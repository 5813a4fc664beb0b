/**
 * One redemption (`redemption:<redemptionId>`): check eligibility, hold the points, reserve the
 * stock (or take a coupon code, or issue the gift card), ship with the tier's priority, wait for
 * delivery under the SLA, and turn the hold into the redemption. Any failure, or a cancellation
 * before the parcel leaves the warehouse, undoes what was done in reverse order and says why.
 *
 * Runs started before `redemption-playbook-v2` replay into the frozen body they were started on
 * (their histories have no marker); runs started since take the playbook, those since
 * `redemption-lean-v3` its lean form. The newer patch is asked first: a new run records only its
 * marker (each marker also upserts `TemporalChangeVersion`, two history events), and a run
 * recorded with the older marker replays past the newer one, which its history does not have.
 */
import { patched } from '@temporalio/workflow';
import type { RedemptionState, RedemptionWorkflowInput } from '../shared';
import { legacyRedemption } from './legacy';
import { playbook } from './playbook';

/** Marks runs whose steps are written by the activities that do them (see ./playbook.ts). */
export const playbookPatch = 'redemption-playbook-v2';

/** Marks runs that upsert the status only where it is needed (see ./run.ts): 30 events at most. */
export const leanPatch = 'redemption-lean-v3';

export async function redemptionWorkflow(input: RedemptionWorkflowInput): Promise<RedemptionState> {
  if (patched(leanPatch)) return playbook(input, true);
  return patched(playbookPatch) ? playbook(input) : legacyRedemption(input);
}
