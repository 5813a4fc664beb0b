/**
 * One launch: its state and why it waits, the cohort (share, named members, new version against
 * the previous), the readiness checklist, the owners' sign-offs, the monitoring window's guard
 * metrics, the owners' commands (go, pause, resume, roll back, cancel) and the audit trail.
 */
import { useState, type ReactNode } from 'react';
import {
  ErrorState,
  Loading,
  PageHeading,
  StatusBadge,
  UpdatedAt,
  usePolling,
} from '../components';
import { formatDateTime } from '../format';
import { Link } from '../router';
import { useSignedIn } from '../session';
import { pollMs } from './Queue';
import { AuditTrail } from './RuleChangeAudit';
import { launches, planOf, type Launch } from './LaunchApi';
import { LaunchActions } from './LaunchActions';
import { Checklist } from './LaunchChecks';
import { Monitoring } from './LaunchMonitoring';
import { Signoffs } from './LaunchSignoffs';

export function LaunchPage({ params }: { params: Record<string, string> }) {
  const id = params.id ?? '';
  const session = useSignedIn();
  const found = usePolling(() => launches.get(id), pollMs, id);
  const audit = usePolling(() => launches.audit(id), pollMs, id);
  const [notice, setNotice] = useState<ReactNode>(null);
  const l = found.data;
  const done = (text: ReactNode) => {
    setNotice(text);
    found.reload();
    audit.reload();
  };
  return (
    <section>
      <p className="crumbs">
        <Link to="/launches">← Launches</Link>
      </p>
      <div className="page-head">
        <PageHeading title={`Launch ${l?.name ?? id}`}>
          Launch {l ? l.name : <code>{id}</code>}
        </PageHeading>
        <UpdatedAt at={found.updatedAt} />
      </div>
      {found.error && <ErrorState error={found.error} retry={found.reload} />}
      {!l ? (
        !found.error && <Loading what="the launch" />
      ) : (
        <>
          <div className="status-line">
            <StatusBadge status={l.state} />
            <span>
              {l.kind} launch of rule change{' '}
              <Link to={`/rule-changes/${encodeURIComponent(l.changeId)}`}>
                <code>{l.changeId}</code>
              </Link>
            </span>
            <a href={l.workflowUrl} target="_blank" rel="noreferrer">
              Open the workflow in Temporal UI
            </a>
          </div>
          <p className="why" data-why>
            {why(l)}
          </p>
          {notice && (
            <p className="notice" role="status">
              {notice}
            </p>
          )}
          <LaunchActions session={session} launch={l} done={done} />
          <div className="columns">
            <Cohort l={l} />
            <Checklist l={l} />
          </div>
          <Signoffs session={session} launch={l} done={done} />
          <Monitoring l={l} now={found.updatedAt} />
          <AuditTrail audit={audit} />
        </>
      )}
    </section>
  );
}

/** Where the launch is and what it waits for, in a sentence. */
function why(l: Launch): ReactNode {
  const unsigned = l.signoffs.filter((s) => !s.signed).map((s) => s.area);
  const at = l.goLiveAt ? formatDateTime(l.goLiveAt) : null;
  switch (l.state) {
    case 'preparing':
      return [
        l.checks.passed ? 'Every check passes.' : 'Checks repeat until every one passes.',
        unsigned.length
          ? `Waiting for sign-off: ${unsigned.join(', ')}.`
          : 'Every owner signed off.',
      ].join(' ');
    case 'ready':
      return 'Ready: every check passes and every owner signed off. An owner can go live.';
    case 'waiting':
      return `Waiting to go live at ${at ?? 'the next allowed slot'}${
        l.slotMovedBecause ? `: ${l.slotMovedBecause}` : ''
      }.`;
    case 'soft-launched':
      return `Soft-launched: the cohort (${l.cohort.percent} %) is on version ${l.cohort.version}, watched.`;
    case 'promoting':
      return `Promoting: ${l.cohort.percent} % of members on version ${l.cohort.version}, watched.`;
    case 'paused':
      return 'Paused: the window is held; the cohort stays on the new version until resumed or rolled back.';
    case 'live':
      return `Live: version ${l.cohort.version} is in force for everyone.`;
    case 'rolled-back':
      return `Rolled back: the cohort is back on version ${l.cohort.previousVersion}.`;
    case 'cancelled':
      return 'Cancelled before go-live; the rule change is approved again.';
    default:
      return null;
  }
}

function Cohort({ l }: { l: Launch }) {
  const members = planOf(l).cohort.members ?? [];
  return (
    <section className="card" aria-labelledby="cohort-heading">
      <h2 id="cohort-heading">Cohort</h2>
      <dl>
        <dt>On the new version now</dt>
        <dd data-cohort-percent>{l.cohort.percent} % of members</dd>
        <dt>Soft launch</dt>
        <dd>
          {l.cohort.plannedPercent} % (stable hash of the member id)
          {l.cohort.namedCount ? `, and ${l.cohort.namedCount} named members` : ''}
        </dd>
        <dt>Stages</dt>
        <dd>
          {l.stage.percents.map((p, i) => (
            <span key={i} className={i === l.stage.index ? 'stage current' : 'stage'}>
              {i ? ' → ' : ''}
              {p} %
            </span>
          ))}
        </dd>
        <dt>Version</dt>
        <dd>
          {l.cohort.version} (previous {l.cohort.previousVersion})
        </dd>
        {members.length > 0 && (
          <>
            <dt>Named members</dt>
            <dd>
              <ul className="named">
                {members.map((m) => (
                  <li key={m}>
                    <Link to={`/members/${encodeURIComponent(m)}`}>
                      <code>{m}</code>
                    </Link>
                  </li>
                ))}
              </ul>
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}
