/**
 * Programme health: the figures of GET /program/health as tiles, and GET /program/health/series
 * as charts, over a time range (the last 24 hours per hour, up to the last 12 months per month).
 * The window the API answered for is shown, so what the tiles count is never a guess.
 */
import { useState } from 'react';
import { ErrorState, Loading, PageHeading, UpdatedAt, usePolling } from '../components';
import { formatUtc } from '../format';
import { resources, type Bucket, type SeriesMetric } from '../resources';
import { Chart, type Line } from './Chart';
import { BudgetsTable } from './BudgetsTable';
import { HealthTiles } from './HealthTiles';

export const ranges = [
  { id: '24h', label: 'Last 24 hours', hours: 24, bucket: 'hour' },
  { id: '7d', label: 'Last 7 days', hours: 7 * 24, bucket: 'day' },
  { id: '30d', label: 'Last 30 days', hours: 30 * 24, bucket: 'day' },
  { id: '90d', label: 'Last 90 days', hours: 90 * 24, bucket: 'day' },
  { id: '12m', label: 'Last 12 months', hours: 365 * 24, bucket: 'month' },
] as const satisfies readonly { id: string; label: string; hours: number; bucket: Bucket }[];

type Range = (typeof ranges)[number];

const charts: { id: string; title: string; lines: [string, SeriesMetric][] }[] = [
  {
    id: 'points-flows',
    title: 'Points issued, redeemed and expired',
    lines: [
      ['Issued', 'points_issued'],
      ['Redeemed', 'points_redeemed'],
      ['Expired', 'points_expired'],
    ],
  },
  {
    id: 'outstanding',
    title: 'Points outstanding',
    lines: [['Outstanding', 'points_outstanding']],
  },
  {
    id: 'redemptions',
    title: 'Redemptions asked for, delivered and failed',
    lines: [
      ['Asked for', 'redemptions_requested'],
      ['Delivered', 'redemptions_delivered'],
      ['Failed', 'redemptions_failed'],
    ],
  },
  { id: 'enrolments', title: 'New enrolments', lines: [['Enrolments', 'enrolments']] },
];

/** The window: `hours` back from the end of the current UTC hour (as the API's default). */
function windowOf(range: Range): { from: string; to: string } {
  const to = new Date();
  to.setUTCMinutes(0, 0, 0);
  to.setUTCHours(to.getUTCHours() + 1);
  return {
    from: new Date(to.getTime() - range.hours * 3_600_000).toISOString(),
    to: to.toISOString(),
  };
}

async function loadHealth(range: Range) {
  const window = windowOf(range);
  const [health, budgets, ...series] = await Promise.all([
    resources.health(window),
    resources.budgets(),
    ...charts.flatMap((c) =>
      c.lines.map(([, metric]) => resources.series(metric, range.bucket, window)),
    ),
  ]);
  let i = 0;
  const lines = charts.map((c) => c.lines.map(([name]): Line => ({ name, series: series[i++]! })));
  return { health, budgets, lines };
}

export function HealthPage() {
  const [rangeId, setRangeId] = useState<Range['id']>('30d');
  const range = ranges.find((r) => r.id === rangeId) ?? ranges[2];
  const found = usePolling(() => loadHealth(range), 60_000, rangeId);
  const data = found.data;
  return (
    <section aria-labelledby="health-heading">
      <div className="page-head">
        <PageHeading title="Programme health">
          <span id="health-heading">Programme health</span>
        </PageHeading>
        <div className="head-tools">
          <UpdatedAt at={found.updatedAt} />
          <button type="button" onClick={found.reload}>
            Refresh
          </button>
        </div>
      </div>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label htmlFor="health-range">Time range</label>
          <select
            id="health-range"
            value={rangeId}
            onChange={(e) => setRangeId(e.target.value as Range['id'])}
          >
            {ranges.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label} (per {r.bucket})
              </option>
            ))}
          </select>
        </div>
      </form>
      {found.error && <ErrorState error={found.error} retry={found.reload} />}
      {!data ? (
        !found.error && <Loading what="the programme’s figures" />
      ) : (
        <>
          <p className="help window">
            Flows from{' '}
            <time dateTime={data.health.window.from}>{formatUtc(data.health.window.from)}</time> to{' '}
            <time dateTime={data.health.window.to}>{formatUtc(data.health.window.to)}</time>;
            balances and statuses as of{' '}
            <time dateTime={data.health.asOf}>{formatUtc(data.health.asOf)}</time>.
          </p>
          <HealthTiles h={data.health} />
          <BudgetsTable b={data.budgets} />
          <h2 className="section">Over time</h2>
          <div className="charts">
            {charts.map((c, k) => (
              <Chart key={c.id} id={c.id} title={c.title} lines={data.lines[k] ?? []} />
            ))}
          </div>
        </>
      )}
    </section>
  );
}
