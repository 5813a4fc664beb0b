/**
 * Numbers, money and durations as the new pages show them: one fixed locale ('en'), so what a
 * person reads is the same on every machine (and the browser tests can say what to expect).
 */
const number = new Intl.NumberFormat('en');
const percent = new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 1 });

export const formatNumber = (n: number): string => number.format(n);

/** `+50`, `-20`, `0`: a change of points. */
export const formatSigned = (n: number): string =>
  n > 0 ? `+${number.format(n)}` : number.format(n);

export const formatRate = (rate: number | null): string =>
  rate === null ? '—' : percent.format(rate);

export const formatMoney = (amount: number, currency: string | null): string =>
  currency
    ? new Intl.NumberFormat('en', { style: 'currency', currency }).format(amount)
    : number.format(amount);

/** 3725 s → `1 h 2 min`; under a minute in seconds. */
export function formatSeconds(seconds: number | null): string {
  if (seconds === null) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

export const formatDateTime = (at: string): string =>
  new Date(at).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });

/** The same in UTC, said so: programme-health windows are whole UTC hours. */
export const formatUtc = (at: string): string =>
  `${new Date(at).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' })} UTC`;
