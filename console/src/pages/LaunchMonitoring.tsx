/**
 * The monitoring window: which stage, the share of members on the new version, the time left (or
 * held, while paused), and each guard metric as last measured, for the cohort, the rest of the
 * programme and the cohort's own pre-launch baseline, against its threshold, with the verdict.
 */
import { Empty } from '../components';
import { formatDateTime, formatNumber, formatRate, formatSeconds } from '../format';
import { planOf, type Launch } from './LaunchApi';

type Figures = Record<string, number | null | undefined>;
interface GuardFigures {
  at?: string;
  cohort?: Figures;
  rest?: Figures;
  baseline?: Figures;
}

const labels: Record<string, string> = {
  accrualErrors: 'Accrual errors',
  redemptionFailureRate: 'Redemption failure rate',
  pointsPerActiveMember: 'Points per active member',
  liabilityGrowth: 'Liability growth',
  anomalyAlerts: 'Anomaly alerts',
  manualAdjustments: 'Manual adjustments',
};

const show = (metric: string, value: number | null | undefined): string =>
  value === null || value === undefined
    ? '—'
    : metric.endsWith('Rate')
      ? formatRate(value)
      : formatNumber(Math.round(value * 100) / 100);

export function Monitoring({ l, now }: { l: Launch; now: Date | undefined }) {
  const m = l.monitoring;
  return (
    <section className="card monitoring" aria-labelledby="monitoring-heading">
      <h2 id="monitoring-heading">Monitoring window</h2>
      {!m ? (
        <Empty>No window yet: it opens when the cohort goes live.</Empty>
      ) : (
        <>
          <p data-window>
            {m.stage === 0 ? 'Soft launch' : `Stage ${m.stage}`}: {m.percent} % of members, watched
            from <time dateTime={m.startedAt}>{formatDateTime(m.startedAt)}</time> to{' '}
            <time dateTime={m.endsAt}>{formatDateTime(m.endsAt)}</time> —{' '}
            <strong>{timeLeft(m, now)}</strong>
          </p>
          <Metrics l={l} />
        </>
      )}
    </section>
  );
}

function timeLeft(m: NonNullable<Launch['monitoring']>, now: Date | undefined): string {
  if (m.pausedWithMsLeft !== null)
    return `held with ${formatSeconds(m.pausedWithMsLeft / 1000)} left`;
  const left = (Date.parse(m.endsAt) - (now ?? new Date()).getTime()) / 1000;
  return left > 0 ? `${formatSeconds(left)} left` : 'window over';
}

function Metrics({ l }: { l: Launch }) {
  const m = l.monitoring!;
  const figures = (m.figures ?? {}) as GuardFigures;
  const verdicts = m.verdicts as {
    metric: string;
    value: number | null;
    threshold: number;
    compareTo: string;
    breached: boolean;
    onBreach: string;
    note?: string;
  }[];
  const watched = Object.keys(planOf(l).monitoring.metrics);
  if (!watched.length) return <Empty>The plan watches no guard metric.</Empty>;
  if (!m.measuredAt) return <Empty>Not measured yet.</Empty>;
  return (
    <table className="guards">
      <caption>Guard metrics, measured {formatDateTime(m.measuredAt)}</caption>
      <thead>
        <tr>
          <th scope="col">Metric</th>
          <th scope="col">Cohort</th>
          <th scope="col">Rest</th>
          <th scope="col">Baseline</th>
          <th scope="col">Threshold</th>
          <th scope="col">Verdict</th>
        </tr>
      </thead>
      <tbody>
        {watched.map((metric) => {
          const v = verdicts.find((one) => one.metric === metric);
          return (
            <tr key={metric} data-metric={metric} className={v?.breached ? 'breached' : undefined}>
              <th scope="row">{labels[metric] ?? metric}</th>
              <td className="number">{show(metric, figures.cohort?.[metric])}</td>
              <td className="number">{show(metric, figures.rest?.[metric])}</td>
              <td className="number">{show(metric, figures.baseline?.[metric])}</td>
              <td className="number">
                {v ? `${show(metric, v.threshold)} (${v.compareTo})` : '—'}
              </td>
              <td>
                {!v
                  ? '—'
                  : v.breached
                    ? `✗ breached: ${v.onBreach === 'rollback' ? 'rolls back' : 'pauses'}`
                    : '✓ within'}
                {v?.note ? ` (${v.note})` : ''}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
