/**
 * Durations and calendars for the model. A program duration ("30 days", "10 seconds") is a fixed
 * number of milliseconds: a day is 24 hours whatever the clocks do, and a year is 365.25 days
 * (the reading of the `ms` format that program versions are written in; see QUESTIONS.md).
 * Caps count by UTC day and month (README: "caps per member per UTC day and month"); budgets and
 * launch windows use the programme's time zone, for which `zonedDay` / `zonedMonth` are here.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const units: Record<string, number> = {
  ms: 1,
  msec: 1,
  msecs: 1,
  millisecond: 1,
  milliseconds: 1,
  s: SECOND,
  sec: SECOND,
  secs: SECOND,
  second: SECOND,
  seconds: SECOND,
  m: MINUTE,
  min: MINUTE,
  mins: MINUTE,
  minute: MINUTE,
  minutes: MINUTE,
  h: HOUR,
  hr: HOUR,
  hrs: HOUR,
  hour: HOUR,
  hours: HOUR,
  d: DAY,
  day: DAY,
  days: DAY,
  w: 7 * DAY,
  week: 7 * DAY,
  weeks: 7 * DAY,
  y: 365.25 * DAY,
  yr: 365.25 * DAY,
  yrs: 365.25 * DAY,
  year: 365.25 * DAY,
  years: 365.25 * DAY,
};

/** Milliseconds of a program duration such as "30 days", "1.5h" or "10 seconds". */
export function durationMs(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!match) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  const unit = (match[2] ?? '').toLowerCase() || 'ms';
  const factor = units[unit];
  if (factor === undefined) throw new Error(`unknown duration unit in ${JSON.stringify(text)}`);
  return Math.round(Number(match[1]) * factor);
}

/** The UTC day of an instant, "YYYY-MM-DD". */
export const utcDay = (at: number): string => new Date(at).toISOString().slice(0, 10);

/** The UTC month of an instant, "YYYY-MM". */
export const utcMonth = (at: number): string => new Date(at).toISOString().slice(0, 7);

const formatters = new Map<string, Intl.DateTimeFormat>();

function localParts(at: number, timeZone: string): { y: string; m: string; d: string } {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(at).map((p) => [p.type, p.value]));
  return { y: parts.year ?? '', m: parts.month ?? '', d: parts.day ?? '' };
}

/** The calendar day of an instant in a time zone, "YYYY-MM-DD". */
export function zonedDay(at: number, timeZone: string): string {
  const { y, m, d } = localParts(at, timeZone);
  return `${y}-${m}-${d}`;
}

/** The calendar month of an instant in a time zone, "YYYY-MM". */
export function zonedMonth(at: number, timeZone: string): string {
  const { y, m } = localParts(at, timeZone);
  return `${y}-${m}`;
}

/** The first instant of each UTC month after `from`, up to and including `to`: month-end checkpoints. */
export function monthEnds(from: number, to: number): number[] {
  const out: number[] = [];
  const start = new Date(from);
  let y = start.getUTCFullYear();
  let m = start.getUTCMonth() + 1;
  for (;;) {
    if (m === 12) {
      y += 1;
      m = 0;
    }
    const at = Date.UTC(y, m, 1);
    if (at > to) return out;
    out.push(at);
    m += 1;
  }
}

export const MS = { SECOND, MINUTE, HOUR, DAY };
