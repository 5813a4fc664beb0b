/**
 * An owner's commands (any named owner, or an admin): go live when ready, pause or resume the
 * monitoring window, roll the cohort back, or cancel before go-live; each with a reason. Which
 * are offered follows the state; the workflow's validators decide, and their refusals show.
 */
import { useState, type ReactNode } from 'react';
import type { Session } from '../api';
import { formatDateTime } from '../format';
import { launches, type Launch, type LaunchCommand, type LaunchState } from './LaunchApi';
import { ReasonDialog } from './ReasonDialog';
import { actorOf } from './LaunchSignoffs';

const offered: Record<LaunchCommand, LaunchState[]> = {
  go: ['ready'],
  pause: ['soft-launched', 'promoting'],
  resume: ['paused'],
  rollback: ['soft-launched', 'promoting', 'paused'],
  cancel: ['preparing', 'ready', 'waiting'],
};

const text: Record<LaunchCommand, { open: string; title: string; help: string; danger?: true }> = {
  go: {
    open: 'Go live…',
    title: 'Go live',
    help: 'The cohort goes on the new version in the next allowed slot (never in a blackout).',
  },
  pause: {
    open: 'Pause…',
    title: 'Pause the launch',
    help: 'The monitoring window is held; the cohort stays on the new version.',
  },
  resume: {
    open: 'Resume…',
    title: 'Resume the launch',
    help: 'The window goes on where it stopped, with the same cohort.',
  },
  rollback: {
    open: 'Roll back…',
    title: 'Roll the launch back',
    help: 'The cohort returns to the previous version at once; ops are told.',
    danger: true,
  },
  cancel: {
    open: 'Cancel launch…',
    title: 'Cancel the launch',
    help: 'Before go-live: nothing changes for members; the rule change is approved again.',
    danger: true,
  },
};

const doneText = (command: LaunchCommand, after: Launch): ReactNode => {
  switch (command) {
    case 'go':
      return `Go given: it goes live in the next allowed slot${
        after.goLiveAt ? ` (${formatDateTime(after.goLiveAt)})` : ''
      }${after.slotMovedBecause ? `: ${after.slotMovedBecause}` : ''}.`;
    case 'pause':
      return 'Paused: the window is held.';
    case 'resume':
      return 'Resumed: the window goes on.';
    case 'rollback':
      return `Rolled back: the cohort is back on version ${after.cohort.previousVersion}.`;
    case 'cancel':
      return 'Cancelled.';
  }
};

export function LaunchActions({
  session,
  launch,
  done,
}: {
  session: Session;
  launch: Launch;
  done: (notice: ReactNode) => void;
}) {
  const owner = launch.signoffs.some((s) => s.owner === actorOf(session));
  if (session.role !== 'admin' && !owner)
    return (
      <p className="help">
        Only a named owner of this launch or an admin can go, pause or roll back.
      </p>
    );
  const commands = (Object.keys(offered) as LaunchCommand[]).filter((c) =>
    offered[c].includes(launch.state),
  );
  if (!commands.length) return null;
  return (
    <div className="actions" role="group" aria-label="Launch commands">
      {commands.map((command) =>
        command === 'go' ? (
          <GoDialog key={command} launch={launch} done={done} />
        ) : (
          <ReasonDialog
            key={command}
            open={text[command].open}
            title={text[command].title}
            submit={text[command].title}
            help={text[command].help}
            danger={text[command].danger}
            send={async (reason, key) =>
              doneText(command, await launches.command(launch.id, command, reason, key))
            }
            done={done}
          />
        ),
      )}
    </div>
  );
}

/** Go live now, or from a time chosen (either way in the next allowed slot, said in the answer). */
function GoDialog({ launch, done }: { launch: Launch; done: (notice: ReactNode) => void }) {
  const [at, setAt] = useState('');
  const field = `go-at-${launch.id}`;
  return (
    <ReasonDialog
      open={text.go.open}
      title={text.go.title}
      submit={text.go.title}
      help={text.go.help}
      extra={
        <>
          <label htmlFor={field}>Go live at (optional, your local time; empty: now)</label>
          <input
            id={field}
            type="datetime-local"
            value={at}
            onChange={(event) => setAt(event.target.value)}
          />
        </>
      }
      send={async (reason, key) => {
        const when = at ? new Date(at) : null;
        if (when && Number.isNaN(when.getTime())) throw new Error('The time is not a valid date.');
        const after = await launches.command(launch.id, 'go', reason, key, when?.toISOString());
        return doneText('go', after);
      }}
      done={done}
    />
  );
}
