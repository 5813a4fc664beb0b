/**
 * The redemption queue: oldest first, filtered by status, tier, reward and age, with counts per
 * status; at-risk redemptions stand out. Polls every few seconds.
 */
import { useState } from 'react';
import { api, may, type RedemptionPage, type RedemptionRow } from '../api';
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
  usePolling,
} from '../components';
import { Link } from '../router';
import { useSignedIn } from '../session';

export const pollMs = 4000;

const statuses = [
  'requested',
  'points_held',
  'substitution_pending',
  'backordered',
  'stock_reserved',
  'shipment_requested',
  'shipped',
  'delivered',
  'issued',
  'completed',
  'returned',
  'refunded',
  'failed',
  'cancelled',
  'lost',
] as const satisfies readonly RedemptionRow['status'][];

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
}

interface QueueView {
  rows: RedemptionRow[];
  more: boolean;
  counts: Record<string, number>;
  total: number;
  atRisk: number | null;
  /** When the counts are from the rows loaded here, not from the API (see below). */
  countedFrom: number | null;
}

const countLimit = 500;

/**
 * One poll: the page of rows, and the counts. The API answers counts per status at
 * `GET /redemptions/counts` once `apigaps` lands (the session lists `countRedemptions`); until
 * then they are counted here from the oldest 500 under the same filters. The reward filter is
 * also applied here, as the API of today ignores `rewardId`.
 * TODO(apigaps): once countRedemptions and the rewardId filter are in, drop the local counting.
 */
async function loadQueue(filters: Filters, serverCounts: boolean): Promise<QueueView> {
  const common = {
    tier: filters.tier.trim() || undefined,
    rewardId: filters.rewardId.trim() || undefined,
    olderThan: filters.olderThan || undefined,
  };
  const byReward = (rows: RedemptionRow[]) =>
    common.rewardId ? rows.filter((r) => r.rewardId === common.rewardId) : rows;
  const page: Promise<RedemptionPage> = api.redemptions({
    ...common,
    status: filters.status || undefined,
    limit: 200,
  });
  if (serverCounts) {
    const [rows, counts] = await Promise.all([page, api.redemptionCounts(common)]);
    return {
      rows: byReward(rows.redemptions),
      more: rows.next !== null,
      counts: counts.byStatus,
      total: counts.total,
      atRisk: counts.atRisk,
      countedFrom: null,
    };
  }
  const [rows, all] = await Promise.all([page, api.redemptions({ ...common, limit: countLimit })]);
  const counted = byReward(all.redemptions);
  const counts: Record<string, number> = {};
  for (const row of counted) counts[row.status] = (counts[row.status] ?? 0) + 1;
  const flagged = counted.some((row) => row.atRisk !== undefined);
  return {
    rows: byReward(rows.redemptions),
    more: rows.next !== null,
    counts,
    total: counted.length,
    atRisk: flagged ? counted.filter((row) => row.atRisk).length : null,
    countedFrom: all.next !== null ? countLimit : null,
  };
}

export function Queue() {
  const session = useSignedIn();
  const [filters, setFilters] = useState<Filters>({
    status: '',
    tier: '',
    rewardId: '',
    olderThan: '',
  });
  const serverCounts = may(session, 'countRedemptions');
  const queue = usePolling(() => loadQueue(filters, serverCounts), pollMs, JSON.stringify(filters));
  const set = (name: keyof Filters) => (value: string) =>
    setFilters((f) => ({ ...f, [name]: value }));

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
            view={queue.data}
            selected={filters.status}
            select={(status) => set('status')(status)}
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
  view,
  selected,
  select,
}: {
  view: QueueView;
  selected: string;
  select: (status: string) => void;
}) {
  const shown = statuses.filter((s) => (view.counts[s] ?? 0) > 0 || s === selected);
  return (
    <div className="counts" aria-label="Redemptions per status">
      <ul>
        <li>
          <button type="button" aria-pressed={selected === ''} onClick={() => select('')}>
            All <span className="count">{view.total}</span>
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
              {statusLabel(status)} <span className="count">{view.counts[status] ?? 0}</span>
            </button>
          </li>
        ))}
      </ul>
      {view.atRisk !== null && view.atRisk > 0 && (
        <p className="at-risk-count">
          <strong>{view.atRisk}</strong> at risk of breaching their SLA
        </p>
      )}
      {view.countedFrom !== null && (
        <p className="help">Counted from the oldest {view.countedFrom} matching redemptions.</p>
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
