/** Telling a member's lifecycle workflow about a change the API made. */
import { WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { AppConfig } from '../config';
import type { LifecycleChange, MemberStatus } from '../domain/member';
import type { EventResult } from '../ledger/activity';
import type { Logger } from '../infra/logger';
import type { memberWorkflow } from '../workflows/member';
import { lifecycleChangedSignal, searchAttributes, workflowIds } from '../workflows/shared';

export interface LifecycleDeps {
  temporal: Client;
  config: AppConfig;
  logger: Logger;
}

interface MemberRef {
  id: string;
  external_id: string;
  tier: string;
  status: MemberStatus;
}

/**
 * Signals `member:<id>` (starting it if it is missing, so a lost start heals here). The change is
 * already committed; if Temporal is unreachable the workflow still catches up at its next timer
 * (at most the program's `lifecycle.maxSleep` away), so this logs instead of failing the request.
 */
export async function notifyLifecycle(
  deps: LifecycleDeps,
  member: MemberRef,
  changes: LifecycleChange[],
): Promise<void> {
  if (changes.length === 0) return;
  try {
    await deps.temporal.workflow.signalWithStart<typeof memberWorkflow, [LifecycleChange[]]>(
      'memberWorkflow',
      {
        workflowId: workflowIds.member(member.id),
        taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
        // A closed member's finished lifecycle is never started again.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        args: [
          {
            memberId: member.id,
            externalId: member.external_id,
            tier: member.tier,
            status: member.status,
          },
        ],
        signal: lifecycleChangedSignal,
        signalArgs: [changes],
        typedSearchAttributes: [
          { key: searchAttributes.MemberId, value: member.id },
          { key: searchAttributes.Tier, value: member.tier },
          { key: searchAttributes.MemberStatus, value: member.status },
        ],
      },
    );
  } catch (err) {
    deps.logger.warn({ err, memberId: member.id, changes }, 'could not signal the member workflow');
  }
}

/**
 * Signals each member of `results` (a batch's) once, with every change its events made and its
 * row after the last of them, a few members at a time.
 */
export async function notifyLifecycles(deps: LifecycleDeps, results: EventResult[]): Promise<void> {
  const members = new Map<string, { member: MemberRef; changes: Set<LifecycleChange> }>();
  for (const { member, changes } of results) {
    if (!member || changes.length === 0) continue;
    const seen = members.get(member.id) ?? { member, changes: new Set<LifecycleChange>() };
    seen.member = member;
    for (const change of changes) seen.changes.add(change);
    members.set(member.id, seen);
  }
  const queue = [...members.values()];
  const lane = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift())
      await notifyLifecycle(deps, next.member, [...next.changes]);
  };
  await Promise.all(Array.from({ length: Math.min(8, queue.length) }, lane));
}
