/**
 * One rule change: its state, the difference against the version in force field by field, the
 * what-if over past events, the approvals (who, why, when), the audit trail, a link to its workflow
 * in Temporal UI, and for admins the decisions its state allows (approve, reject, withdraw,
 * schedule), each with a reason; the server's refusals are shown in the dialog.
 */
import { useState, type ReactNode } from 'react';
import {
  Ago,
  Empty,
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
import { ruleChanges, type RuleChange } from './RuleChangeApi';
import { RuleChangeActions } from './RuleChangeActions';
import { AuditTrail } from './RuleChangeAudit';
import { Impact } from './RuleChangeImpact';

export function RuleChangePage({ params }: { params: Record<string, string> }) {
  const id = params.id ?? '';
  const session = useSignedIn();
  const found = usePolling(() => ruleChanges.get(id), pollMs, id);
  const audit = usePolling(() => ruleChanges.audit(id), pollMs, id);
  const [notice, setNotice] = useState<ReactNode>(null);
  const c = found.data;
  const done = (text: ReactNode) => {
    setNotice(text);
    found.reload();
    audit.reload();
  };
  return (
    <section>
      <p className="crumbs">
        <Link to="/rule-changes">← Rule changes</Link>
      </p>
      <div className="page-head">
        <PageHeading title={`Rule change ${id}`}>
          Rule change <code>{id}</code>
        </PageHeading>
        <UpdatedAt at={found.updatedAt} />
      </div>
      {found.error && <ErrorState error={found.error} retry={found.reload} />}
      {!c ? (
        !found.error && <Loading what="the rule change" />
      ) : (
        <>
          <div className="status-line">
            <StatusBadge status={c.state} />
            {c.description && <span>{c.description}</span>}
            <a href={c.workflowUrl} target="_blank" rel="noreferrer">
              Open the workflow in Temporal UI
            </a>
          </div>
          {notice && (
            <p className="notice" role="status">
              {notice}
            </p>
          )}
          <RuleChangeActions session={session} change={c} done={done} />
          <div className="columns">
            <Summary c={c} now={found.updatedAt} />
            <Approvals c={c} />
          </div>
          <Diff c={c} />
          <Impact c={c} />
          <AuditTrail audit={audit} />
        </>
      )}
    </section>
  );
}

function Summary({ c, now }: { c: RuleChange; now: Date | undefined }) {
  return (
    <section className="card" aria-labelledby="summary-heading">
      <h2 id="summary-heading">Versions and dates</h2>
      <dl>
        <dt>Compared with</dt>
        <dd>version {c.baseVersion ?? '—'} (in force when proposed)</dd>
        <dt>New version</dt>
        <dd>{c.version === null ? 'published when approved' : `version ${c.version}`}</dd>
        <dt>Revision</dt>
        <dd>{c.revision}</dd>
        <dt>Created</dt>
        <dd>
          <Ago at={c.createdAt} now={now} /> by {c.createdBy}
        </dd>
        {c.activateAt && (
          <>
            <dt>Goes into force</dt>
            <dd>
              <time dateTime={c.activateAt}>{formatDateTime(c.activateAt)}</time>
              {c.slotMovedBecause && <span className="moved"> (moved: {c.slotMovedBecause})</span>}
            </dd>
          </>
        )}
        {c.noticeAt && (
          <>
            <dt>Members told</dt>
            <dd>
              <time dateTime={c.noticeAt}>{formatDateTime(c.noticeAt)}</time>
            </dd>
          </>
        )}
        {c.activatedAt && (
          <>
            <dt>In force since</dt>
            <dd>
              <time dateTime={c.activatedAt}>{formatDateTime(c.activatedAt)}</time>
            </dd>
          </>
        )}
        {c.launchId && (
          <>
            <dt>Launch</dt>
            <dd>
              <Link to={`/launches/${encodeURIComponent(c.launchId)}`}>
                <code>{c.launchId}</code>
              </Link>
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}

function Approvals({ c }: { c: RuleChange }) {
  return (
    <section className="card" aria-labelledby="approvals-heading">
      <h2 id="approvals-heading">
        Approvals: {c.approvals.length} of {c.approvalsRequired}
      </h2>
      <p className="help">Proposed by {c.proposedBy ?? 'nobody yet'}; they cannot approve it.</p>
      {!c.approvals.length ? (
        <Empty>No approval yet.</Empty>
      ) : (
        <ul className="approvals">
          {c.approvals.map((a) => (
            <li key={a.actor} data-approver={a.actor}>
              <strong>{a.actor}</strong> <time dateTime={a.at}>{formatDateTime(a.at)}</time>
              <p className="reason">Reason: {a.reason}</p>
            </li>
          ))}
        </ul>
      )}
      {c.rejection && (
        <p className="state error" data-rejection>
          Rejected by <strong>{c.rejection.actor}</strong>{' '}
          <time dateTime={c.rejection.at}>{formatDateTime(c.rejection.at)}</time>:{' '}
          {c.rejection.reason}
        </p>
      )}
    </section>
  );
}

/** A value of the diff as a person reads it: `(none)` for absent, JSON for lists and objects. */
const readable = (value: unknown): string =>
  value === null || value === undefined
    ? '(none)'
    : typeof value === 'string'
      ? value
      : JSON.stringify(value);

function Diff({ c }: { c: RuleChange }) {
  return (
    <section className="card" aria-labelledby="diff-heading">
      <h2 id="diff-heading">What changes (against version {c.baseVersion ?? '—'})</h2>
      {!c.diff.length ? (
        <Empty>No difference from the version in force.</Empty>
      ) : (
        <table className="diff">
          <caption className="visually-hidden">Fields that change, before and after</caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Before</th>
              <th scope="col">After</th>
            </tr>
          </thead>
          <tbody>
            {c.diff.map((d) => (
              <tr key={d.path} data-path={d.path}>
                <th scope="row">
                  <code>{d.path}</code>
                </th>
                <td className="before">{readable(d.before)}</td>
                <td className="after">→ {readable(d.after)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
