/** What an import did, shown while it runs (a progress bar on stderr) and summed up at the end. */
import { SingleBar } from 'cli-progress';
import type { z } from 'zod';
import type { Rejection } from './csv';

export interface Tally {
  /** Records after the header, good or bad. */
  read: number;
  imported: number;
  /** Already in the database, or repeated in the file: skipped. */
  present: number;
  /** Rows rejected (a row may have several problems). */
  rejected: number;
  problems: Rejection[];
  workflows?: {
    started: number;
    /** Members already present whose lifecycle had not run yet: started if missing. */
    checked: number;
    notStarted: number;
    error?: string;
  };
}

export const newTally = (): Tally => ({
  read: 0,
  imported: 0,
  present: 0,
  rejected: 0,
  problems: [],
});

export function reject(tally: Tally, problems: Rejection[]): void {
  tally.rejected++;
  tally.problems.push(...problems);
}

/** A row's validation problems, one per field. */
export function invalid(line: number, error: z.ZodError): Rejection[] {
  return error.issues.map((issue) => ({
    line,
    field: issue.path.join('.') || 'row',
    message: issue.message,
  }));
}

const n = (value: number): string => value.toLocaleString('en-US');

export interface Progress {
  update: (bytes: number) => void;
  stop: () => void;
}

/**
 * A bar over the file's bytes on a terminal; elsewhere (a CI log, a redirect) a plain line every
 * 10 seconds.
 */
export function startProgress(
  label: string,
  totalBytes: number,
  tally: Tally,
  out: NodeJS.WriteStream = process.stderr,
): Progress {
  const started = Date.now();
  const counts = () => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    return {
      rows: n(tally.read),
      imported: n(tally.imported),
      present: n(tally.present),
      rejected: n(tally.rejected),
      rate: n(Math.round(tally.read / seconds)),
    };
  };
  if (out.isTTY) {
    const bar = new SingleBar({
      stream: out,
      format: `${label} [{bar}] {percentage}% | {rows} rows: {imported} imported, {present} present, {rejected} rejected | {rate} rows/s | ETA {eta_formatted}`,
      barsize: 24,
      etaBuffer: 50,
      hideCursor: true,
    });
    bar.start(Math.max(totalBytes, 1), 0, counts());
    return {
      update: (bytes) => bar.update(bytes, counts()),
      stop: () => {
        bar.update(Math.max(totalBytes, 1), counts());
        bar.stop();
      },
    };
  }
  // A short run shows its summary only.
  let last = started;
  let printed = false;
  const line = (bytes: number) => {
    const c = counts();
    const percent = totalBytes ? Math.floor((100 * bytes) / totalBytes) : 100;
    out.write(
      `${label}: ${percent}% | ${c.rows} rows: ${c.imported} imported, ${c.present} present, ${c.rejected} rejected | ${c.rate} rows/s\n`,
    );
    printed = true;
  };
  return {
    update: (bytes) => {
      if (Date.now() - last < 10_000) return;
      last = Date.now();
      line(bytes);
    },
    stop: () => {
      if (printed) line(totalBytes);
    },
  };
}

/** The summary, then every rejected row in file order, as `line N: field: why`. */
export function summary(label: string, tally: Tally, seconds: number): string {
  const rows: [string, string][] = [
    ['rows read', n(tally.read)],
    ['imported', n(tally.imported)],
    ['already present', n(tally.present)],
    ['rejected', n(tally.rejected)],
  ];
  const wf = tally.workflows;
  if (wf) {
    rows.push(['workflows started', n(wf.started)]);
    if (wf.checked)
      rows.push(['workflows checked', `${n(wf.checked)} (present, lifecycle not run yet)`]);
    if (wf.notStarted)
      rows.push(['workflows not started', `${n(wf.notStarted)} (run again to start them)`]);
  }
  rows.push([
    'time',
    `${seconds.toFixed(1)}s (${n(Math.round(tally.read / Math.max(seconds, 0.001)))} rows/s)`,
  ]);
  const width = Math.max(...rows.map(([name]) => name.length)) + 1;
  const problems = [...tally.problems].sort((a, b) => a.line - b.line);
  return [
    `${label}:`,
    ...rows.map(([name, value]) => `  ${`${name}:`.padEnd(width)} ${value}`),
    ...(problems.length ? ['rejected rows:'] : []),
    ...problems.map((p) => `line ${p.line}: ${p.field}: ${p.message}`),
  ].join('\n');
}
