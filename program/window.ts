/**
 * Time windows and buckets of programme health, in UTC. Figures read from the hourly ledger
 * rollup, so every window is aligned to whole hours (and every bucket to its own start): the
 * answer says which window it covers. Pure.
 */
export const buckets = ['hour', 'day', 'week', 'month'] as const;
export type Bucket = (typeof buckets)[number];

/** Most buckets one series answers (e.g. 41 days of hours, 2.7 years of days). */
export const maxBuckets = 1000;

const hourMs = 3_600_000;

export interface Window {
  from: Date;
  to: Date;
}

/** The start of the bucket holding `at` (weeks start on Monday, as ISO weeks do). */
export function bucketStart(at: Date, bucket: Bucket): Date {
  const d = new Date(at);
  d.setUTCMinutes(0, 0, 0);
  if (bucket === 'hour') return d;
  d.setUTCHours(0);
  if (bucket === 'day') return d;
  if (bucket === 'week') {
    d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
    return d;
  }
  d.setUTCDate(1);
  return d;
}

export function nextBucket(start: Date, bucket: Bucket): Date {
  const d = new Date(start);
  if (bucket === 'hour') d.setUTCHours(d.getUTCHours() + 1);
  else if (bucket === 'day') d.setUTCDate(d.getUTCDate() + 1);
  else if (bucket === 'week') d.setUTCDate(d.getUTCDate() + 7);
  else d.setUTCMonth(d.getUTCMonth() + 1);
  return d;
}

/** `[from, to)` widened to whole buckets: from down to its bucket's start, to up to a bucket end. */
export function alignWindow(window: Window, bucket: Bucket): Window {
  const from = bucketStart(window.from, bucket);
  const last = bucketStart(new Date(window.to.getTime() - 1), bucket);
  return { from, to: nextBucket(last, bucket) };
}

/** The bucket starts of an aligned window. */
export function bucketStarts(window: Window, bucket: Bucket): Date[] {
  const starts: Date[] = [];
  for (let at = window.from; at < window.to; at = nextBucket(at, bucket)) starts.push(at);
  return starts;
}

/** How many buckets `[from, to)` spans once aligned, without listing them. */
export function countBuckets(window: Window, bucket: Bucket): number {
  const aligned = alignWindow(window, bucket);
  const span = aligned.to.getTime() - aligned.from.getTime();
  if (bucket === 'hour') return Math.round(span / hourMs);
  if (bucket === 'day') return Math.round(span / (24 * hourMs));
  if (bucket === 'week') return Math.round(span / (7 * 24 * hourMs));
  const from = aligned.from;
  const to = aligned.to;
  return (to.getUTCFullYear() - from.getUTCFullYear()) * 12 + to.getUTCMonth() - from.getUTCMonth();
}

/** The default snapshot window: the last `days` days up to the end of the current hour. */
export function lastDays(now: Date, days: number): Window {
  const to = new Date(bucketStart(now, 'hour').getTime() + hourMs);
  return { from: new Date(to.getTime() - days * 24 * hourMs), to };
}
