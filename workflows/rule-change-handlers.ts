/**
 * The rule change's commands: each an Update whose validator refuses what may not happen (role,
 * state, four eyes) before anything is written, and whose handler records the step (one
 * activity: the row, the audit row, one transaction), one command at a time.
 */
import { setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { nextAllowedSlot } from '../domain/launch-window';
import {
  approveRuleChangeUpdate,
  createRuleChangeUpdate,
  editRuleChangeUpdate,
  proposeRuleChangeUpdate,
  rejectRuleChangeUpdate,
  ruleChangeStateQuery,
  scheduleRuleChangeUpdate,
  withdrawRuleChangeUpdate,
  type CreateRuleChange,
} from './rule-change-messages';
import {
  mayApprove,
  mustBe,
  mustBeAdmin,
  records,
  recorded,
  simulationIdOf,
  type RuleChange,
} from './rule-change-state';
import {
  attachLaunchUpdate,
  launchEndedSignal,
  searchAttributes,
  type ChangeActor,
  type RuleChangeState,
} from './shared';

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
      validator: (request: ChangeActor) => {
        mustBeAdmin(request);
        mustBe(change, ['draft', 'proposed'], 'edited');
      },
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
      validator: (request: ChangeActor) => {
        mustBeAdmin(request);
        mustBe(change, ['draft'], 'proposed');
      },
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
      validator: (request: ChangeActor) => {
        mustBeAdmin(request);
        mustBe(change, ['proposed'], 'rejected');
      },
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
      validator: (request: ChangeActor) => {
        mustBeAdmin(request);
        mustBe(change, withdrawable, 'withdrawn');
      },
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
      validator: (request: ChangeActor) => {
        mustBeAdmin(request);
        mustBe(change, ['approved', 'scheduled'], 'scheduled');
      },
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
