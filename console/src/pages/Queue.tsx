/**
 * The redemption queue: oldest first, filtered by status, tier, reward, age and SLA risk, with counts per
 * status; at-risk redemptions stand out. Kept current by the API's pushes (see queue-stream.ts);
 * polls every few seconds only if the stream fails.
 */
import { useState } from 'react';
import { api, type CountQuery, type RedemptionCounts, type RedemptionRow } from '../api';
import {
  Ago,
  Empty,
  ErrorState,
  Loading,
  PageHeading,
  SlaBadge,
  StatusBadge,
  UpdatedAt,
  shortId,
  statusLabel,
} from '../components';
import { useQueueStream, type QueueView } from '../queue-stream';
import { Link } from '../router';
import { redemptionStatuses } from '../../../domain/redemption';

/** Only when the event stream fails. */
export const pollMs = 4000;
const pageSize = 200;

/** The domain's own list (pure, no I/O), so the filter never drifts from the API's statuses. */
const statuses = redemptionStatuses satisfies readonly RedemptionRow['status'][];

const ages = [
  { label: 'Any age', seconds: '' },
  { label: 'Older than 15 minutes', seconds: '900' },
  { label: 'Older than 1 hour', seconds: '3600' },
  { label: 'Older than 4 hours', seconds: '14400' },
  { label: 'Older than 1 day', seconds: '86400' },
  { label: 'Older than 3 days', seconds: '259200' },
];

interface Filters {
  status: string;
  tier: string;
  rewardId: string;
  olderThan: string;
  /** 'true': only those at risk of breaching their SLA (or past it). */
  atRisk: string;
}

const filterNames = ['status', 'tier', 'rewardId', 'olderThan', 'atRisk'] as const;

/** The filters are kept in the address (?status=…), so a reload or a shared link keeps them. */
function filtersFromAddress(): Filters {
  const query = new URLSearchParams(window.location.search);
  const filters = { status: '', tier: '', rewardId: '', olderThan: '', atRisk: '' };
  for (const name of filterNames) filters[name] = query.get(name) ?? '';
  return filters;
}

function keepInAddress(filters: Filters): void {
  const query = new URLSearchParams();
  for (const name of filterNames) if (filters[name]) query.set(name, filters[name]);
  const search = query.size ? `?${query.toString()}` : '';
  window.history.replaceState(null, '', `${window.location.pathname}${search}`);
}

/** The filters as the API takes them (the list's, the counts' and the event stream's). */
function queryOf(filters: Filters): CountQuery {
  return {
    tier: filters.tier.trim() || undefined,
    rewardId: filters.rewardId.trim() || undefined,
    olderThan: filters.olderThan ? Number(filters.olderThan) : undefined,
    atRisk: filters.atRisk || undefined,
  };
}

/**
 * One read: the page of rows (with the cursor to hear changes from) and, under the same filters,
 * the counts per status and at risk (GET /redemptions/counts: the status filter does not narrow
 * them, so every status keeps its count while one is picked).
 */
async function loadQueue(filters: Filters): Promise<QueueView & { cursor: string }> {
  const common = queryOf(filters);
  const [page, counts] = await Promise.all([
    api.redemptions({ ...common, status: filters.status || undefined, limit: pageSize }),
    api.redemptionCounts(common),
  ]);
  return { rows: page.redemptions, more: page.next !== null, counts, cursor: page.cursor };
}

/** GET /redemptions/events under the page's filters. */
function eventsUrlOf(filters: Filters): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries({ ...queryOf(filters), status: filters.status }))
    if (value !== undefined && value !== '') query.set(name, String(value));
  return `/redemptions/events${query.size ? `?${query.toString()}` : ''}`;
}

export function Queue() {
  const [filters, setFilters] = useState<Filters>(filtersFromAddress);
  const queue = useQueueStream(
    () => loadQueue(filters),
    eventsUrlOf(filters),
    pageSize,
    pollMs,
    JSON.stringify(filters),
  );
  const set = (name: keyof Filters) => (value: string) =>
    setFilters((f) => {
      const next = { ...f, [name]: value };
      keepInAddress(next);
      return next;
    });

  return (
    <section aria-labelledby="queue-heading">
      <div className="page-head">
        <PageHeading title="Redemption queue">
          <span id="queue-heading">Redemption queue</span>
        </PageHeading>
        <UpdatedAt at={queue.updatedAt} />
      </div>

      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label htmlFor="filter-status">Status</label>
          <select
            id="filter-status"
            value={filters.status}
            onChange={(e) => set('status')(e.target.value)}
          >
            <option value="">Any status</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {statusLabel(s)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="filter-tier">Tier</label>
          <input
            id="filter-tier"
            value={filters.tier}
            placeholder="e.g. Gold"
            onChange={(e) => set('tier')(e.target.value)}
          />
        </div>
        <div>
          <label htmlFor="filter-reward">Reward</label>
          <input
            id="filter-reward"
            value={filters.rewardId}
            placeholder="reward id"
            onChange={(e) => set('rewardId')(e.target.value)}
          />
        </div>
        <div>
          <label htmlFor="filter-age">Age</label>
          <select
            id="filter-age"
            value={filters.olderThan}
            onChange={(e) => set('olderThan')(e.target.value)}
          >
            {ages.map((a) => (
              <option key={a.seconds} value={a.seconds}>
                {a.label}
              </option>
            ))}
          </select>
        </div>
      </form>

      {queue.error && <ErrorState error={queue.error} retry={queue.reload} />}
      {queue.data ? (
        <>
          <StatusCounts
            counts={queue.data.counts}
            selected={filters.status}
            select={(status) => set('status')(status)}
            atRiskOnly={filters.atRisk === 'true'}
            showAtRisk={(only) => set('atRisk')(only ? 'true' : '')}
          />
          <QueueTable rows={queue.data.rows} more={queue.data.more} now={queue.updatedAt} />
        </>
      ) : (
        !queue.error && <Loading what="the queue" />
      )}
    </section>
  );
}

function StatusCounts({
  counts,
  selected,
  select,
  atRiskOnly,
  showAtRisk,
}: {
  counts: RedemptionCounts;
  selected: string;
  select: (status: string) => void;
  atRiskOnly: boolean;
  showAtRisk: (only: boolean) => void;
}) {
  const shown = statuses.filter((s) => (counts.byStatus[s] ?? 0) > 0 || s === selected);
  return (
    <div className="counts" aria-label="Redemptions per status">
      <ul>
        <li>
          <button type="button" aria-pressed={selected === ''} onClick={() => select('')}>
            All <span className="count">{counts.total}</span>
          </button>
        </li>
        {shown.map((status) => (
          <li key={status}>
            <button
              type="button"
              aria-pressed={selected === status}
              data-status={status}
              onClick={() => select(selected === status ? '' : status)}
            >
              {statusLabel(status)} <span className="count">{counts.byStatus[status] ?? 0}</span>
            </button>
          </li>
        ))}
      </ul>
      {(counts.atRisk > 0 || atRiskOnly) && (
        <p className="at-risk-count">
          <strong>{counts.atRisk}</strong> at risk of breaching their SLA{' '}
          <button type="button" onClick={() => showAtRisk(!atRiskOnly)}>
            {atRiskOnly ? 'Show all' : 'Show only these'}
          </button>
        </p>
      )}
    </div>
  );
}

function QueueTable({
  rows,
  more,
  now,
}: {
  rows: RedemptionRow[];
  more: boolean;
  now: Date | undefined;
}) {
  if (!rows.length) return <Empty>No redemptions match these filters.</Empty>;
  return (
    <>
      <table className="queue">
        <caption className="visually-hidden">Redemptions, oldest first</caption>
        <thead>
          <tr>
            <th scope="col">Requested</th>
            <th scope="col">Redemption</th>
            <th scope="col">Member</th>
            <th scope="col">Reward</th>
            <th scope="col">Tier</th>
            <th scope="col">Status</th>
            <th scope="col">SLA</th>
            <th scope="col">Workflow</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr
              key={row.redemptionId}
              className={row.atRisk || row.slaBreached ? 'at-risk' : undefined}
              data-redemption={row.redemptionId}
            >
              <td>
                <Ago at={row.createdAt} now={now} />
              </td>
              <td>
                <Link
                  to={`/redemptions/${encodeURIComponent(row.redemptionId)}`}
                  aria-label={`Open redemption ${row.redemptionId}`}
                  title={row.redemptionId}
                >
                  <code>{shortId(row.redemptionId)}</code>
                </Link>
              </td>
              <td>
                <code title={row.memberId}>{shortId(row.memberId)}</code>
              </td>
              <td>
                {row.rewardId}
                {row.quantity > 1 ? ` × ${row.quantity}` : ''}
              </td>
              <td>{row.tier ?? '—'}</td>
              <td>
                <StatusBadge status={row.status} />
              </td>
              <td>
                <SlaBadge atRisk={row.atRisk} breached={row.slaBreached} />
                {row.slaDeadline && !row.slaBreached && <Due at={row.slaDeadline} />}
              </td>
              <td>
                <a
                  href={row.workflow.url}
                  target="_blank"
                  rel="noreferrer"
                  aria-label={`Temporal UI: workflow of ${row.redemptionId}`}
                >
                  Temporal UI
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {more && (
        <p className="help">Showing the oldest {rows.length}; narrow the filters to see others.</p>
      )}
    </>
  );
}

/** The SLA deadline of a redemption still waiting for delivery. */
function Due({ at }: { at: string }) {
  const when = new Date(at).toLocaleString([], {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
  return (
    <time className="due" dateTime={at} title={new Date(at).toLocaleString()}>
      due {when}
    </time>
  );
}
