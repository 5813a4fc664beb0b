/**
 * The decisions a rule change's state allows, for roles that may take them (admin): approve or
 * reject a proposed change, withdraw one not yet in force, schedule an approved one (the answer
 * says when it goes into force, and why the launch window moved it). Every rule is the server's:
 * a refusal (you proposed it, you approved already, wrong state) is shown in the dialog.
 */
import { useState, type ReactNode } from 'react';
import { may, type Session } from '../api';
import { formatDateTime } from '../format';
import { ruleChanges, type RuleChange, type RuleChangeState } from './RuleChangeApi';
import { ReasonDialog } from './ReasonDialog';

const open: RuleChangeState[] = ['draft', 'proposed', 'approved', 'scheduled'];

export function RuleChangeActions({
  session,
  change,
  done,
}: {
  session: Session;
  change: RuleChange;
  done: (notice: ReactNode) => void;
}) {
  const id = change.id;
  const mayAct = ['approveRuleChange', 'rejectRuleChange', 'withdrawRuleChange'].some((op) =>
    may(session, op),
  );
  if (!mayAct)
    return (
      <p className="help">Your role ({session.role}) can view rule changes, not decide them.</p>
    );
  if (!open.includes(change.state)) return null;
  const state = change.state;
  return (
    <div className="actions" role="group" aria-label="Decisions">
      {state === 'draft' && may(session, 'proposeRuleChange') && (
        <ReasonDialog
          open="Propose…"
          title="Propose this change"
          submit="Propose"
          reasonRequired={false}
          help="Its difference is computed and its what-if runs; then it awaits approval."
          send={async (reason, key) => {
            await ruleChanges.propose(id, reason, key);
            return 'Proposed: the what-if is running; it awaits approval.';
          }}
          done={done}
        />
      )}
      {state === 'proposed' && may(session, 'approveRuleChange') && (
        <ReasonDialog
          open="Approve…"
          title="Approve this change"
          submit="Approve"
          help={`${change.approvalsRequired} distinct approval(s) needed; the proposer cannot approve.`}
          send={async (reason, key) => {
            const after = await ruleChanges.approve(id, reason, key);
            return after.state === 'approved'
              ? `Approved: version ${after.version ?? '—'} is published, not yet in force.`
              : `Approval recorded: ${after.approvals.length} of ${after.approvalsRequired}.`;
          }}
          done={done}
        />
      )}
      {state === 'proposed' && may(session, 'rejectRuleChange') && (
        <ReasonDialog
          open="Reject…"
          title="Reject this change"
          submit="Reject"
          danger
          send={async (reason, key) => {
            await ruleChanges.reject(id, reason, key);
            return 'Rejected: the change will not go into force.';
          }}
          done={done}
        />
      )}
      {state === 'approved' && may(session, 'scheduleRuleChange') && (
        <ScheduleDialog id={id} done={done} />
      )}
      {may(session, 'withdrawRuleChange') && (
        <ReasonDialog
          open="Withdraw…"
          title="Withdraw this change"
          submit="Withdraw"
          danger
          send={async (reason, key) => {
            await ruleChanges.withdraw(id, reason, key);
            return 'Withdrawn: the change will not go into force.';
          }}
          done={done}
        />
      )}
    </div>
  );
}

/** `datetime-local` wants the local time without a zone: now, to the minute. */
const localNow = (): string => {
  const now = new Date();
  now.setSeconds(0, 0);
  return new Date(now.getTime() - now.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

function ScheduleDialog({ id, done }: { id: string; done: (notice: ReactNode) => void }) {
  const [at, setAt] = useState(localNow);
  const field = `schedule-at-${id}`;
  return (
    <ReasonDialog
      open="Schedule…"
      title="Schedule this change"
      submit="Schedule"
      reasonRequired={false}
      help="Never inside a blackout (the launch window): a time asked for there moves to the next allowed slot. Members are told ahead."
      extra={
        <>
          <label htmlFor={field}>Goes into force at (your local time)</label>
          <input
            id={field}
            type="datetime-local"
            value={at}
            required
            onChange={(event) => setAt(event.target.value)}
          />
        </>
      }
      send={async (reason, key) => {
        const when = new Date(at);
        if (!at || Number.isNaN(when.getTime())) throw new Error('Choose when it goes into force.');
        const after = await ruleChanges.schedule(id, when.toISOString(), reason, key);
        const activateAt = after.activateAt ?? when.toISOString();
        return (
          <>
            Scheduled: goes into force{' '}
            <time dateTime={activateAt}>{formatDateTime(activateAt)}</time>
            {after.slotMovedBecause
              ? ` — moved from the time asked: ${after.slotMovedBecause}`
              : ''}
            .
          </>
        );
      }}
      done={done}
    />
  );
}
