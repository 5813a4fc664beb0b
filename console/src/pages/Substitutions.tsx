/**
 * Substitutions awaiting a decision: a reward ran out of stock and its policy asks ops. Each shows
 * the candidates with their stock now and their value, the deadline counting down, and (for roles
 * that may decide) approve with a chosen candidate or reject, with a reason.
 */
import { useEffect, useState, type ReactNode } from 'react';
import { may } from '../api';
import {
  Ago,
  Empty,
  ErrorState,
  Loading,
  PageHeading,
  UpdatedAt,
  statusLabel,
  usePolling,
} from '../components';
import { formatDateTime, formatSeconds } from '../format';
import { resources, type Substitution, type SubstitutionStatus } from '../resources';
import { Link } from '../router';
import { useSignedIn } from '../session';
import { pollMs } from './Queue';
import { CandidatesTable } from './CandidatesTable';
import { Decision } from './SubstitutionDecision';

const statuses: SubstitutionStatus[] = [
  'pending',
  'approved',
  'rejected',
  'timed_out',
  'no_candidates',
];

export function Substitutions() {
  const session = useSignedIn();
  const [status, setStatus] = useState<SubstitutionStatus | ''>('pending');
  const [notice, setNotice] = useState<ReactNode>(null);
  const list = usePolling(() => resources.substitutions(status || undefined), pollMs, status);
  const mayDecide = may(session, 'approveSubstitution') && may(session, 'rejectSubstitution');
  const decided = (text: ReactNode) => {
    setNotice(text);
    list.reload();
  };

  return (
    <section aria-labelledby="substitutions-heading">
      <div className="page-head">
        <PageHeading title="Substitutions">
          <span id="substitutions-heading">Substitutions awaiting a decision</span>
        </PageHeading>
        <UpdatedAt at={list.updatedAt} />
      </div>
      <p className="help">
        A reward ran out of stock and its policy asks ops: approve one of the candidates (it ships
        instead) or reject (the member is refunded, or waits for stock if they opted in). Undecided
        at the deadline, the substitution times out.
      </p>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label htmlFor="substitution-status">Show</label>
          <select
            id="substitution-status"
            value={status}
            onChange={(e) => setStatus(e.target.value as SubstitutionStatus | '')}
          >
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s === 'pending' ? 'Awaiting a decision' : statusLabel(s)}
              </option>
            ))}
            <option value="">All</option>
          </select>
        </div>
      </form>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {!mayDecide && (
        <p className="help">Your role ({session.role}) can view substitutions, not decide them.</p>
      )}
      {list.error && <ErrorState error={list.error} retry={list.reload} />}
      {!list.data ? (
        !list.error && <Loading what="the substitutions" />
      ) : !list.data.substitutions.length ? (
        <Empty>
          {status === 'pending'
            ? 'No substitution is awaiting a decision.'
            : 'No substitutions to show.'}
        </Empty>
      ) : (
        <ul className="substitutions">
          {list.data.substitutions.map((s) => (
            <li key={s.redemptionId} data-substitution={s.redemptionId}>
              <SubstitutionCard
                s={s}
                mayDecide={mayDecide}
                decided={decided}
                now={list.updatedAt}
              />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function SubstitutionCard({
  s,
  mayDecide,
  decided,
  now,
}: {
  s: Substitution;
  mayDecide: boolean;
  decided: (text: ReactNode) => void;
  now: Date | undefined;
}) {
  const headingId = `substitution-${s.redemptionId}`;
  const pending = s.status === 'pending';
  return (
    <article className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>
        Redemption{' '}
        <Link to={`/redemptions/${encodeURIComponent(s.redemptionId)}`}>
          <code>{s.redemptionId}</code>
        </Link>
      </h2>
      <dl>
        <dt>Reward out of stock</dt>
        <dd>
          <code>{s.rewardId}</code>
        </dd>
        <dt>Member</dt>
        <dd>
          <Link to={`/members/${s.memberId}`}>
            <code>{s.memberId}</code>
          </Link>
        </dd>
        <dt>Offered</dt>
        <dd>
          <Ago at={s.createdAt} now={now} />
        </dd>
        {pending && s.deadlineAt && (
          <>
            <dt>Deadline</dt>
            <dd>
              <Countdown at={s.deadlineAt} />
            </dd>
          </>
        )}
        {!pending && (
          <>
            <dt>Decision</dt>
            <dd>
              <span className={`badge substitution-${s.status}`}>{statusLabel(s.status)}</span>
              {s.chosenSku && (
                <>
                  {' '}
                  <code>{s.chosenSku}</code>
                </>
              )}
              {s.decidedBy && <> by {s.decidedBy}</>}
              {s.reason && <> — {s.reason}</>}
            </dd>
          </>
        )}
      </dl>
      {pending && mayDecide ? <Decision s={s} decided={decided} /> : <Candidates s={s} />}
    </article>
  );
}

/** The candidates, read-only (decided, or a role that may not decide). */
function Candidates({ s }: { s: Substitution }) {
  if (!s.candidates.length) return <Empty>No candidate was in stock.</Empty>;
  return <CandidatesTable s={s} caption="Candidates, closest in value first" />;
}

/** Time left until `at`, ticking every second; soon (under 5 min) and past stand out. */
export function Countdown({ at }: { at: string }) {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const left = (Date.parse(at) - now) / 1000;
  const text = left > 0 ? `${formatSeconds(left)} left` : 'past the deadline';
  return (
    <span role="timer" className={left < 300 ? 'deadline soon' : 'deadline'}>
      <strong>{text}</strong> (<time dateTime={at}>{formatDateTime(at)}</time>)
    </span>
  );
}
