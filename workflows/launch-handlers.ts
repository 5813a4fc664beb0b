/**
 * The launch's message handlers: sign-offs act at once (each a step of its own); go, pause,
 * resume, roll back and cancel are handed to the playbook, which carries them out at its next
 * turn and answers the Update when done. Validators refuse what the caller may not do, or not now.
 */
import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import {
  commandRefusal,
  signoffRefusal,
  type LaunchCommand,
  type Refusal,
} from '../domain/launch-plan';
import {
  cancelUpdate,
  goUpdate,
  launchStateQuery,
  pauseUpdate,
  resumeUpdate,
  rollbackUpdate,
  signOffUpdate,
  withdrawSignoffUpdate,
  type CommandRequest,
  type LaunchStatus,
  type SignoffRequest,
} from './launch-messages';
import { step, type LaunchRun } from './launch-steps';

const refuse = (refusal: Refusal | null): void => {
  if (refusal) throw ApplicationFailure.nonRetryable(refusal.message, refusal.type);
};

export const statusOf = (run: LaunchRun): LaunchStatus => ({ ...run.status });

function signoffHandlers(run: LaunchRun): void {
  const validator = (withdraw: boolean) => (request: SignoffRequest) => {
    refuse(
      signoffRefusal(run.status.state, run.status.signoffs, {
        area: request.area,
        actor: request.actor,
        withdraw,
      }),
    );
    if (run.goLiveAt !== null) {
      refuse({ type: 'WrongState', message: 'The launch is going live: sign-offs are closed.' });
    }
  };
  const handler = (withdraw: boolean) => async (request: SignoffRequest) => {
    const entry = run.status.signoffs.find((s) => s.area === request.area)!;
    entry.signed = !withdraw;
    entry.by = request.actor;
    entry.at = new Date().toISOString();
    entry.reason = request.reason ?? null;
    run.signoffsInFlight += 1;
    await step(run, {
      step: withdraw ? 'signoff_withdrawn' : 'signed_off',
      actor: request.actor,
      reason: request.reason,
      signoff: { ...entry },
      details: { area: request.area },
    });
    run.signoffsInFlight -= 1;
    run.signoffRevision += 1;
    return statusOf(run);
  };
  setHandler(signOffUpdate, handler(false), { validator: validator(false) });
  setHandler(withdrawSignoffUpdate, handler(true), { validator: validator(true) });
}

export function installHandlers(run: LaunchRun): void {
  setHandler(launchStateQuery, () => statusOf(run));
  signoffHandlers(run);
  const commands: [typeof goUpdate, LaunchCommand][] = [
    [goUpdate, 'go'],
    [pauseUpdate, 'pause'],
    [resumeUpdate, 'resume'],
    [rollbackUpdate, 'rollback'],
    [cancelUpdate, 'cancel'],
  ];
  for (const [update, command] of commands) {
    setHandler(
      update,
      async (request: CommandRequest) => {
        const ticket = ++run.tickets;
        run.pending = { command, request, ticket };
        await condition(() => run.handled >= ticket);
        refuse(run.refused.get(ticket) ?? null);
        return statusOf(run);
      },
      {
        validator: (request: CommandRequest) => {
          refuse(commandRefusal(run.input.plan, run.status.state, command, request));
          if (run.pending) {
            refuse({
              type: 'WrongState',
              message: `Another command (${run.pending.command}) is being carried out; try again.`,
            });
          }
        },
      },
    );
  }
}
