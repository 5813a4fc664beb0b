/**
 * The rule change workflow's state and its rules: the serial lane its commands take, the checks
 * its validators (and handlers, once they hold the lane) make, and the activities that record.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  proxyActivities,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { RuleChangeActivities, RuleChangeOutcome } from '../activities/rule-changes';
import {
  RuleChangeRefusal,
  type RuleChangeInput,
  type RuleChangeSnapshot,
} from './rule-change-messages';
import { postgresStep, refusing } from './activity-profiles';
import { searchAttributes, type ChangeActor, type RuleChangeState } from './shared';

export const records = proxyActivities<RuleChangeActivities>(
  refusing(postgresStep, RuleChangeRefusal.Conflict, RuleChangeRefusal.Stale),
);

/** The workflow's state, the commands' serial lane and the schedule's generation. */
export class RuleChange {
  readonly snapshot: RuleChangeSnapshot;
  /** The program of the current revision (what a simulation replays). */
  program: unknown = null;
  /** The general version when proposed. */
  baseVersion: number | null = null;
  /** Bumped whenever the schedule changes, so the playbook's timers start over. */
  scheduleGeneration = 0;
  private busy = false;
  private steps = 0;

  constructor(readonly input: RuleChangeInput) {
    this.snapshot = {
      changeId: input.changeId,
      state: 'new',
      revision: 0,
      createdBy: null,
      proposedBy: null,
      approvals: [],
      approvalsRequired: input.approvalsRequired,
      version: null,
      activateAt: null,
      noticeAt: null,
      noticeSent: false,
      launchId: null,
      simulationId: null,
    };
  }

  get id(): string {
    return this.input.changeId;
  }

  /** A key for the next recorded step: the store's guard against doing a step twice. */
  step(action: string): string {
    this.steps += 1;
    return `${action}:${this.steps}`;
  }

  /** One command or playbook step at a time (handlers interleave at every await). */
  async serial<T>(work: () => Promise<T>): Promise<T> {
    await condition(() => !this.busy);
    this.busy = true;
    try {
      return await work();
    } finally {
      this.busy = false;
    }
  }

  apply(outcome: RuleChangeOutcome): void {
    this.snapshot.revision = outcome.revision;
    this.snapshot.version = outcome.version;
    this.baseVersion = outcome.baseVersion;
    this.snapshot.approvals = outcome.approvals;
    this.snapshot.activateAt = outcome.activateAt;
    this.snapshot.noticeAt = outcome.noticeAt;
    this.enter(outcome.state);
  }

  enter(state: RuleChangeState): void {
    if (this.snapshot.state === state) return;
    this.snapshot.state = state;
    upsertSearchAttributes([{ key: searchAttributes.RuleChangeState, value: state }]);
  }
}

/** A revision's what-if: `simulation:<changeId>-r<revision>`. */
export const simulationIdOf = (changeId: string, revision: number): string =>
  `${changeId}-r${revision}`;

export const refuse = (type: string, message: string): never => {
  throw ApplicationFailure.nonRetryable(message, type);
};

export function mustBe(
  change: RuleChange,
  states: (RuleChangeState | 'new')[],
  doing: string,
): void {
  const { state } = change.snapshot;
  if (!states.includes(state)) {
    refuse(
      RuleChangeRefusal.WrongState,
      `Rule change ${change.id} is ${state}: it cannot be ${doing} (only when ${states.join(' or ')}).`,
    );
  }
}

export function mustBeAdmin(actor: ChangeActor): void {
  if (actor.role !== 'admin') {
    refuse(
      RuleChangeRefusal.Forbidden,
      `Only an admin may change the rules; ${actor.actor} is ${actor.role}.`,
    );
  }
}

export function mayApprove(change: RuleChange, actor: ChangeActor): void {
  mustBeAdmin(actor);
  mustBe(change, ['proposed'], 'approved');
  if (actor.actor === change.snapshot.proposedBy) {
    refuse(
      RuleChangeRefusal.OwnChange,
      `${actor.actor} proposed rule change ${change.id} and may not approve it.`,
    );
  }
  if (change.snapshot.approvals.some((a) => a.actor === actor.actor)) {
    refuse(
      RuleChangeRefusal.DuplicateApproval,
      `${actor.actor} has already approved rule change ${change.id}.`,
    );
  }
}

/** An activity's business failure, handed to the caller as the update's refusal. */
export async function recorded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
      throw ApplicationFailure.nonRetryable(
        err.cause.message,
        err.cause.type ?? RuleChangeRefusal.Conflict,
      );
    }
    throw err;
  }
}
