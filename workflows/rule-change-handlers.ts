/**
 * The rule change's commands: each an Update whose validator refuses what may not happen (role,
 * state, four eyes) before anything is written, and whose handler records the step (one
 * activity: the row, the audit row, one transaction), one command at a time.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RuleChangeActivities, RuleChangeOutcome } from '../activities/rule-changes';
import { nextAllowedSlot } from '../domain/launch-window';
import {
  approveRuleChangeUpdate,
  createRuleChangeUpdate,
  editRuleChangeUpdate,
  proposeRuleChangeUpdate,
  rejectRuleChangeUpdate,
  RuleChangeRefusal,
  ruleChangeStateQuery,
  scheduleRuleChangeUpdate,
  withdrawRuleChangeUpdate,
  type CreateRuleChange,
  type RuleChangeInput,
  type RuleChangeSnapshot,
} from './rule-change-messages';
import {
  attachLaunchUpdate,
  launchEndedSignal,
  postgresActivity,
  searchAttributes,
  type ChangeActor,
  type RuleChangeState,
} from './shared';

export const records = proxyActivities<RuleChangeActivities>({
  ...postgresActivity,
  retry: {
    ...postgresActivity.retry,
    nonRetryableErrorTypes: [
      ...(postgresActivity.retry?.nonRetryableErrorTypes ?? []),
      RuleChangeRefusal.Conflict,
    ],
  },
});

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

const refuse = (type: string, message: string): never => {
  throw ApplicationFailure.nonRetryable(message, type);
};

function mustBe(change: RuleChange, states: (RuleChangeState | 'new')[], doing: string): void {
  const { state } = change.snapshot;
  if (!states.includes(state)) {
    refuse(
      RuleChangeRefusal.WrongState,
      `Rule change ${change.id} is ${state}: it cannot be ${doing} (only when ${states.join(' or ')}).`,
    );
  }
}

function mustBeAdmin(actor: ChangeActor): void {
  if (actor.role !== 'admin') {
    refuse(
      RuleChangeRefusal.Forbidden,
      `Only an admin may change the rules; ${actor.actor} is ${actor.role}.`,
    );
  }
}

function mayApprove(change: RuleChange, actor: ChangeActor): void {
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
async function recorded<T>(work: () => Promise<T>): Promise<T> {
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

/** The handlers run again what the validators checked: another command may have gone first. */
export function registerHandlers(change: RuleChange, onProposed: (actor: string) => void): void {
  const s = change.snapshot;
  const id = change.id;
  setHandler(ruleChangeStateQuery, () => s);

  const propose = async (actor: ChangeActor, reason?: string | null) => {
    change.apply(
      await records.proposeRuleChange(id, {
        step: change.step('propose'),
        actor: actor.actor,
        reason,
        simulationId: simulationIdOf(id, s.revision),
      }),
    );
    s.proposedBy = actor.actor;
    onProposed(actor.actor);
  };

  setHandler(
    createRuleChangeUpdate,
    (request) =>
      change.serial(() =>
        recorded(async () => {
          mustBe(change, ['new'], 'created');
          change.apply(
            await records.createRuleChange({
              step: change.step('create'),
              id,
              actor: request.actor,
              description: request.description,
              program: request.program,
              approvalsRequired: change.input.approvalsRequired,
            }),
          );
          s.createdBy = request.actor;
          change.program = request.program;
          if (request.propose) await propose(request);
          return s;
        }),
      ),
    {
      validator: (request: CreateRuleChange) => {
        mustBeAdmin(request);
        mustBe(change, ['new'], 'created');
      },
    },
  );

  setHandler(
    editRuleChangeUpdate,
    (request) =>
      change.serial(() =>
        recorded(async () => {
          mustBe(change, ['draft', 'proposed'], 'edited');
          const { actor, description, program } = request;
          change.apply(
            await records.editRuleChange(id, {
              step: change.step('edit'),
              actor: actor,
              description,
              program,
              simulationId: simulationIdOf(id, s.revision + 1),
            }),
          );
          s.simulationId = null;
          change.program = program;
          if (s.state === 'proposed') onProposed(actor);
          return s;
        }),
      ),
    {
      validator: (request: ChangeActor) => (
        mustBeAdmin(request),
        mustBe(change, ['draft', 'proposed'], 'edited')
      ),
    },
  );

  setHandler(
    proposeRuleChangeUpdate,
    (request) =>
      change.serial(() =>
        recorded(async () => {
          mustBe(change, ['draft'], 'proposed');
          await propose(request, request.reason);
          return s;
        }),
      ),
    {
      validator: (request: ChangeActor) => (
        mustBeAdmin(request),
        mustBe(change, ['draft'], 'proposed')
      ),
    },
  );

  setHandler(
    approveRuleChangeUpdate,
    (request) =>
      change.serial(() =>
        recorded(async () => {
          mayApprove(change, request);
          const at = new Date().toISOString();
          change.apply(
            await records.approveRuleChange(id, {
              step: change.step('approve'),
              actor: request.actor,
              reason: request.reason,
              at,
            }),
          );
          return s;
        }),
      ),
    { validator: (request: ChangeActor) => mayApprove(change, request) },
  );

  setHandler(
    rejectRuleChangeUpdate,
    (request) =>
      change.serial(() =>
        recorded(async () => {
          mustBe(change, ['proposed'], 'rejected');
          const at = new Date().toISOString();
          change.apply(
            await records.rejectRuleChange(id, {
              step: change.step('reject'),
              actor: request.actor,
              reason: request.reason,
              at,
            }),
          );
          return s;
        }),
      ),
    {
      validator: (request: ChangeActor) => (
        mustBeAdmin(request),
        mustBe(change, ['proposed'], 'rejected')
      ),
    },
  );

  const withdrawable: RuleChangeState[] = ['draft', 'proposed', 'approved', 'scheduled'];
  setHandler(
    withdrawRuleChangeUpdate,
    (request) =>
      change.serial(() =>
        recorded(async () => {
          mustBe(change, withdrawable, 'withdrawn');
          change.apply(
            await records.withdrawRuleChange(id, {
              step: change.step('withdraw'),
              actor: request.actor,
              reason: request.reason,
            }),
          );
          change.scheduleGeneration += 1;
          return s;
        }),
      ),
    {
      validator: (request: ChangeActor) => (
        mustBeAdmin(request),
        mustBe(change, withdrawable, 'withdrawn')
      ),
    },
  );

  setHandler(
    scheduleRuleChangeUpdate,
    (request) =>
      change.serial(() =>
        recorded(async () => {
          mustBe(change, ['approved', 'scheduled'], 'scheduled');
          const asked = Math.max(request.activateAt, Date.now());
          const slot = nextAllowedSlot(asked, change.input.policy);
          change.apply(
            await records.scheduleRuleChange(id, {
              step: change.step('schedule'),
              actor: request.actor,
              reason: request.reason,
              askedFor: new Date(request.activateAt).toISOString(),
              activateAt: new Date(slot.at).toISOString(),
              noticeAt: new Date(slot.at - change.input.noticeMs).toISOString(),
              movedBecause: slot.movedBecause,
            }),
          );
          s.noticeSent = false;
          change.scheduleGeneration += 1;
          return s;
        }),
      ),
    {
      validator: (request: ChangeActor) => (
        mustBeAdmin(request),
        mustBe(change, ['approved', 'scheduled'], 'scheduled')
      ),
    },
  );

  setHandler(
    attachLaunchUpdate,
    (request) =>
      change.serial(() =>
        recorded(async () => {
          mustBe(change, ['approved'], 'launched');
          const answer = await records.attachLaunch(id, {
            step: change.step('attach-launch'),
            actor: request.actor,
            launchId: request.launchId,
          });
          s.launchId = request.launchId;
          change.enter('launching');
          return answer;
        }),
      ),
    { validator: (_request) => mustBe(change, ['approved'], 'launched') },
  );

  setHandler(launchEndedSignal, async (ended) => {
    await change.serial(async () => {
      if (s.state !== 'launching' || s.launchId !== ended.launchId) return;
      change.apply(
        await records.endLaunch(id, {
          step: change.step(`launch-${ended.outcome}`),
          actor: ended.actor,
          reason: ended.reason,
          launchId: ended.launchId,
          outcome: ended.outcome,
          at: new Date().toISOString(),
        }),
      );
      if (ended.outcome === 'cancelled') s.launchId = null;
    });
  });

  // The change is findable by id from its first moment (the API also sets it at start).
  if (!workflowInfo().typedSearchAttributes.get(searchAttributes.RuleChangeId)) {
    upsertSearchAttributes([{ key: searchAttributes.RuleChangeId, value: id }]);
  }
}
