/**
 * When a rule change may take effect or a launch go live: never on a blackout weekday (Friday and
 * the weekend by default), never on a holiday, only within launch hours, all in the program's
 * time zone. A moment asked for inside a blackout moves to the next allowed slot, and says why.
 * Pure (Intl only): the workflows decide with it deterministically, the API previews with it.
 */
export const weekdays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
export type Weekday = (typeof weekdays)[number];

export interface LaunchWindowPolicy {
  /** IANA time zone, e.g. `Europe/Berlin`. */
  timeZone: string;
  blackoutDays: Weekday[];
  /** Local dates, `YYYY-MM-DD`. */
  holidays: string[];
  /** Local `HH:MM`; `to` may be `24:00`. */
  hours: { from: string; to: string };
}

export interface Slot {
  /** Epoch ms of the slot. */
  at: number;
  /** Why the moment asked for was moved (null: it was allowed). */
  movedBecause: string | null;
}

interface Local {
  date: string;
  weekday: Weekday;
  minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function parts(at: number, timeZone: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(at))) out[p.type] = p.value;
  return out;
}

function local(at: number, timeZone: string): Local {
  const p = parts(at, timeZone);
  return {
    date: `${p.year}-${p.month}-${p.day}`,
    weekday: p.weekday as Weekday,
    minutes: Number(p.hour) * 60 + Number(p.minute) + Number(p.second) / 60,
  };
}

/** Milliseconds the zone is ahead of UTC at `at`. */
function offset(at: number, timeZone: string): number {
  const p = parts(at, timeZone);
  const asUtc = Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!);
  return asUtc - Math.floor(at / 1000) * 1000;
}

/** The instant of local wall time `date` `HH:MM` in `timeZone`. */
export function zonedTime(date: string, hhmm: string, timeZone: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const [hh, mm] = hhmm.split(':').map(Number) as [number, number];
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  let guess = wall - offset(wall, timeZone);
  guess = wall - offset(guess, timeZone);
  return guess;
}

const toMinutes = (hhmm: string): number => {
  const [hh, mm] = hhmm.split(':').map(Number) as [number, number];
  return hh * 60 + mm;
};

function nextDate(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

function weekdayOf(date: string): Weekday {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return weekdays[new Date(Date.UTC(y, m - 1, d)).getUTCDay()]!;
}

/** Why a local day is closed to launches, or null when it is open. */
function closedBecause(date: string, weekday: Weekday, policy: LaunchWindowPolicy): string | null {
  if (policy.holidays.includes(date)) return `${date} is a holiday`;
  if (policy.blackoutDays.includes(weekday)) return `no launches on ${weekday}`;
  return null;
}

/** The first allowed moment at or after `at`. */
export function nextAllowedSlot(at: number, policy: LaunchWindowPolicy): Slot {
  const from = toMinutes(policy.hours.from);
  const to = toMinutes(policy.hours.to);
  const here = local(at, policy.timeZone);
  const closed = closedBecause(here.date, here.weekday, policy);
  if (!closed && here.minutes >= from && here.minutes < to) return { at, movedBecause: null };
  const why =
    closed ?? `outside launch hours ${policy.hours.from}-${policy.hours.to} ${policy.timeZone}`;
  let date = here.date;
  if (closed || here.minutes >= to) date = nextDate(date);
  for (let i = 0; i < 400; i += 1) {
    if (!closedBecause(date, weekdayOf(date), policy)) {
      const slot = zonedTime(date, policy.hours.from, policy.timeZone);
      return {
        at: slot,
        movedBecause: `${why}: waits for ${weekdayOf(date)} ${date} ${policy.hours.from} ${policy.timeZone}`,
      };
    }
    date = nextDate(date);
  }
  throw new Error('no allowed launch slot in the next 400 days: check the blackout policy');
}

/** Whether the policy could ever allow a slot (used to validate configuration). */
export function isValidPolicy(policy: LaunchWindowPolicy): boolean {
  try {
    formatter(policy.timeZone);
    return (
      toMinutes(policy.hours.from) < toMinutes(policy.hours.to) && policy.blackoutDays.length < 7
    );
  } catch {
    return false;
  }
}
