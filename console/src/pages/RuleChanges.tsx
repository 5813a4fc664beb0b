/**
 * Rule changes: every change request with its state, proposer, approvals so far and last update,
 * counts per state (a button each filters the list); each opens its page (diff, impact, decide).
 */
import { useState } from 'react';
import {
  Ago,
  Empty,
  ErrorState,
  Loading,
  PageHeading,
  StatusBadge,
  UpdatedAt,
  statusLabel,
  usePolling,
} from '../components';
import { Link } from '../router';
import { pollMs } from './Queue';
import {
  ruleChanges,
  ruleChangeStates,
  type RuleChangeRow,
  type RuleChangeState,
} from './RuleChangeApi';

const stateFromAddress = (): RuleChangeState | '' => {
  const state = new URLSearchParams(window.location.search).get('state') ?? '';
  return ruleChangeStates.includes(state as RuleChangeState) ? (state as RuleChangeState) : '';
};

export function RuleChanges() {
  const [state, setState] = useState<RuleChangeState | ''>(stateFromAddress);
  // All of them: the counts per state come from the same answer the list is filtered from.
  const list = usePolling(() => ruleChanges.list(), pollMs, 'all');
  const select = (next: RuleChangeState | '') => {
    setState(next);
    const search = next ? `?state=${next}` : '';
    window.history.replaceState(null, '', `${window.location.pathname}${search}`);
  };
  const all = list.data?.ruleChanges;
  const rows = all?.filter((c) => !state || c.state === state);

  return (
    <section aria-labelledby="rule-changes-heading">
      <div className="page-head">
        <PageHeading title="Rule changes">
          <span id="rule-changes-heading">Rule changes</span>
        </PageHeading>
        <UpdatedAt at={list.updatedAt} />
      </div>
      <p className="help">
        A new programme version is a change request: proposed with its difference and its what-if
        over past events, approved by someone other than its proposer, then scheduled or launched.
      </p>
      {list.error && <ErrorState error={list.error} retry={list.reload} />}
      {!all || !rows ? (
        !list.error && <Loading what="the rule changes" />
      ) : (
        <>
          <StateCounts changes={all} selected={state} select={select} />
          <ChangesTable rows={rows} now={list.updatedAt} filtered={Boolean(state)} />
        </>
      )}
    </section>
  );
}

function StateCounts({
  changes,
  selected,
  select,
}: {
  changes: RuleChangeRow[];
  selected: RuleChangeState | '';
  select: (state: RuleChangeState | '') => void;
}) {
  const count = (s: RuleChangeState) => changes.filter((c) => c.state === s).length;
  const shown = ruleChangeStates.filter((s) => count(s) > 0 || s === selected);
  return (
    <div className="counts" aria-label="Rule changes per state">
      <ul>
        <li>
          <button type="button" aria-pressed={selected === ''} onClick={() => select('')}>
            All <span className="count">{changes.length}</span>
          </button>
        </li>
        {shown.map((s) => (
          <li key={s}>
            <button
              type="button"
              aria-pressed={selected === s}
              data-state={s}
              onClick={() => select(selected === s ? '' : s)}
            >
              {statusLabel(s)} <span className="count">{count(s)}</span>
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

function ChangesTable({
  rows,
  now,
  filtered,
}: {
  rows: RuleChangeRow[];
  now: Date | undefined;
  filtered: boolean;
}) {
  if (!rows.length)
    return <Empty>{filtered ? 'No rule change in this state.' : 'No rule change yet.'}</Empty>;
  return (
    <table className="rule-changes">
      <caption className="visually-hidden">Rule changes, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Change</th>
          <th scope="col">Description</th>
          <th scope="col">State</th>
          <th scope="col">Proposed by</th>
          <th scope="col">Approvals</th>
          <th scope="col">Updated</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((c) => (
          <tr key={c.id} data-change={c.id}>
            <td>
              <Link to={`/rule-changes/${encodeURIComponent(c.id)}`}>
                <code>{c.id}</code>
              </Link>
            </td>
            <td>{c.description || '—'}</td>
            <td>
              <StatusBadge status={c.state} />
            </td>
            <td>{c.proposedBy ?? '—'}</td>
            <td>
              {c.approvals.length} of {c.approvalsRequired}
            </td>
            <td>
              <Ago at={c.updatedAt} now={now} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
