/**
 * Launches: each with its state, the rule change it rolls out, its stage and the share of members
 * on the new version; each opens its page (checklist, sign-offs, monitoring window).
 */
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
import { Link } from '../router';
import { pollMs } from './Queue';
import { launches, type LaunchRow } from './LaunchApi';

export function Launches() {
  const list = usePolling(() => launches.list(), pollMs, 'all');
  const rows = list.data?.launches;
  return (
    <section aria-labelledby="launches-heading">
      <div className="page-head">
        <PageHeading title="Launches">
          <span id="launches-heading">Launches</span>
        </PageHeading>
        <UpdatedAt at={list.updatedAt} />
      </div>
      <p className="help">
        A launch rolls an approved rule change out: checks and owner sign-offs first, then a cohort
        on the new version, watched for a window, promoted stage by stage or rolled back.
      </p>
      {list.error && <ErrorState error={list.error} retry={list.reload} />}
      {!rows ? (
        !list.error && <Loading what="the launches" />
      ) : !rows.length ? (
        <Empty>No launch yet.</Empty>
      ) : (
        <LaunchTable rows={rows} now={list.updatedAt} />
      )}
    </section>
  );
}

function LaunchTable({ rows, now }: { rows: LaunchRow[]; now: Date | undefined }) {
  return (
    <table className="launches">
      <caption className="visually-hidden">Launches, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Launch</th>
          <th scope="col">State</th>
          <th scope="col">Rule change</th>
          <th scope="col">Stage</th>
          <th scope="col">Cohort</th>
          <th scope="col">Updated</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((l) => (
          <tr key={l.id} data-launch={l.id}>
            <td>
              <Link to={`/launches/${encodeURIComponent(l.id)}`}>{l.name}</Link>{' '}
              <code className="muted">{l.id}</code>
            </td>
            <td>
              <StatusBadge status={l.state} />
            </td>
            <td>
              <Link to={`/rule-changes/${encodeURIComponent(l.changeId)}`}>
                <code>{l.changeId}</code>
              </Link>
            </td>
            <td>
              {l.stage.index === 0 ? 'soft launch' : `stage ${l.stage.index}`}
              {l.stage.percent !== null ? ` (${l.stage.percent} %)` : ''}
            </td>
            <td>{l.cohort.percent} %</td>
            <td>
              <Ago at={l.updatedAt} now={now} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
