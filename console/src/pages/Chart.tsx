/**
 * A small hand-rolled SVG line chart of one or more health series over the same buckets: a y axis
 * from 0 with three gridlines, the first, middle and last bucket on the x axis, a legend in words,
 * and the numbers themselves in a table under "Data" (for keyboards and screen readers).
 */
import { formatNumber, formatRate } from '../format';
import type { Bucket, Series } from '../resources';

export interface Line {
  name: string;
  series: Series;
}

const colours = ['#0b57a4', '#c77700', '#a4161a', '#1c5a2e'];
const width = 600;
const height = 220;
const pad = { left: 56, right: 12, top: 12, bottom: 28 };

/**
 * The top of the y axis: a round number at or above the largest value (1, 2, 4, 6 or 8 times a
 * power of ten), whose half (the middle gridline) is a whole number when the values are.
 */
function niceMax(max: number): number {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  const top = [1, 2, 4, 6, 8, 10]
    .map((m) => m * power)
    .find((m) => m >= max && (power < 1 || Number.isInteger(m / 2)));
  return top ?? 10 * power;
}

export const bucketLabel = (at: string, bucket: Bucket): string => {
  const d = new Date(at);
  const options: Intl.DateTimeFormatOptions =
    bucket === 'hour'
      ? { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' }
      : bucket === 'month'
        ? { month: 'short', year: 'numeric', timeZone: 'UTC' }
        : { day: 'numeric', month: 'short', timeZone: 'UTC' };
  return d.toLocaleString('en-GB', options);
};

export function Chart({ id, title, lines }: { id: string; title: string; lines: Line[] }) {
  const first = lines[0]?.series;
  if (!first || !first.points.length) {
    return (
      <figure className="card chart" aria-labelledby={`${id}-title`}>
        <figcaption id={`${id}-title`}>{title}</figcaption>
        <p className="state empty">No data for this range.</p>
      </figure>
    );
  }
  const rate = first.unit === 'ratio';
  const show = (v: number | null) => (rate ? formatRate(v) : v === null ? '—' : formatNumber(v));
  const n = first.points.length;
  const max = niceMax(
    Math.max(0, ...lines.flatMap((l) => l.series.points.map((p) => p.value ?? 0))),
  );
  const x = (i: number) =>
    pad.left + (n === 1 ? 0.5 : i / (n - 1)) * (width - pad.left - pad.right);
  const y = (v: number) => pad.top + (1 - v / max) * (height - pad.top - pad.bottom);
  const ticks = [0, max / 2, max];
  const labelled = [...new Set([0, Math.floor((n - 1) / 2), n - 1])];
  const summary = lines
    .map(
      (l) => `${l.name}: ${show(l.series.points.reduce((s, p) => s + (p.value ?? 0), 0))} in all`,
    )
    .join('; ');

  return (
    <figure className="card chart" aria-labelledby={`${id}-title`} data-chart={id}>
      <figcaption id={`${id}-title`}>{title}</figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${title}, per ${first.bucket}. ${rate ? '' : summary}`}
      >
        {ticks.map((t) => (
          <g key={t} className="grid">
            <line x1={pad.left} x2={width - pad.right} y1={y(t)} y2={y(t)} />
            <text x={pad.left - 6} y={y(t) + 4} textAnchor="end">
              {show(t)}
            </text>
          </g>
        ))}
        {labelled.map((i) => (
          <text
            key={i}
            className="x-label"
            x={x(i)}
            y={height - 8}
            textAnchor={n > 1 && i === 0 ? 'start' : n > 1 && i === n - 1 ? 'end' : 'middle'}
          >
            {bucketLabel(first.points[i]!.start, first.bucket)}
          </text>
        ))}
        {lines.map((l, k) => (
          <g key={l.name} stroke={colours[k % colours.length]} fill={colours[k % colours.length]}>
            <polyline
              fill="none"
              strokeWidth={2}
              points={l.series.points.map((p, i) => `${x(i)},${y(p.value ?? 0)}`).join(' ')}
            />
            {n <= 48 &&
              l.series.points.map((p, i) => (
                <circle key={i} cx={x(i)} cy={y(p.value ?? 0)} r={2.5} />
              ))}
          </g>
        ))}
      </svg>
      <ul className="legend">
        {lines.map((l, k) => (
          <li key={l.name}>
            <svg className="swatch" viewBox="0 0 12 12" aria-hidden="true">
              <rect width="12" height="12" fill={colours[k % colours.length]} />
            </svg>
            {l.name}
          </li>
        ))}
      </ul>
      <details>
        <summary>Data</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">From</th>
              {lines.map((l) => (
                <th scope="col" key={l.name} className="number">
                  {l.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {first.points.map((p, i) => (
              <tr key={p.start}>
                <td>{bucketLabel(p.start, first.bucket)}</td>
                {lines.map((l) => (
                  <td key={l.name} className="number">
                    {show(l.series.points[i]?.value ?? null)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
