/** The bench's closing table and the targets, each marked PASS or MISS. */
import os from 'node:os';
import type { BaselineResult } from './baseline';
import type { LoadResult } from './load';

export interface Verification {
  /** Members audited. */
  members: number;
  /** Members whose audit failed or whose balance differs from the points the API said they earned. */
  mismatches: string[];
  /** Points the API said were earned, in total. */
  earned: number;
}

export interface Results {
  app?: { load: LoadResult; verification: Verification } | undefined;
  baseline?: BaselineResult | undefined;
  hot?: { load: LoadResult; verification: Verification; capped: boolean } | undefined;
  /** The API's HTTP stack alone, doing no work (bench/http-floor.ts), in the same run. */
  floor?: LoadResult | undefined;
  /** POST /events/batch, `size` events a request. */
  batch?: { load: LoadResult; verification: Verification; size: number } | undefined;
}

/** A batch phase counted in events, not requests (its latencies stay per request). */
function inEvents(load: LoadResult, size: number): LoadResult {
  return { ...load, ok: load.ok * size, rate: load.rate * size };
}

const columns: [string, number][] = [
  ['phase', 20],
  ['clients', 8],
  ['ok', 8],
  ['errors', 7],
  ['events/s', 9],
  ['p50 ms', 8],
  ['p90 ms', 8],
  ['p99 ms', 8],
  ['max ms', 8],
  ['CPU busy', 9],
  ['bench CPU', 10],
];

function row(cells: string[]): string {
  return cells
    .map((cell, i) => (i ? cell.padStart(columns[i]![1]) : cell.padEnd(columns[0]![1])))
    .join(' ');
}

function line(load: LoadResult): string {
  const ms = (value: number) => value.toFixed(1);
  return row([
    load.name,
    String(load.clients),
    String(load.ok),
    String(load.failed),
    load.rate.toFixed(1),
    ms(load.latency.p50),
    ms(load.latency.p90),
    ms(load.latency.p99),
    ms(load.latency.max),
    load.cpu === undefined ? '-' : `${(load.cpu.machine * 100).toFixed(0)} %`,
    `${(load.benchCpu * 100).toFixed(0)} %`,
  ]);
}

function cpuLine(load: LoadResult): string {
  const cores = Object.entries(load.cpu!.cores)
    .map(([group, used]) => `${group} ${used.toFixed(2)}`)
    .join(', ');
  return `  ${load.name.padEnd(columns[0]![1])} ${cores}`;
}

function failures(load: LoadResult): string[] {
  return [...load.failures].map(([message, count]) => `  ${load.name}: ${count} x ${message}`);
}

export function printReport({ app, baseline, hot, floor, batch }: Results): void {
  const batchLoad = batch && inEvents(batch.load, batch.size);
  const loads = [app?.load, baseline?.load, floor, hot?.load, batchLoad].filter(
    (l): l is LoadResult => !!l,
  );
  const out: string[] = ['', row(columns.map(([name]) => name)), ...loads.map(line)];
  out.push('(CPU busy: all cores of the machine; bench CPU: this process, 100 % = one core)');
  if (batch)
    out.push(
      `(${batchLoad!.name}: ok and events/s count events, ${batch.load.ok} requests; latencies are per request)`,
    );
  const cpu = loads.filter((l) => l.cpu).map(cpuLine);
  if (cpu.length)
    out.push('', `CPU by process, in cores (this machine has ${os.cpus().length}):`, ...cpu);
  const disturbed = loads.filter((l) => (l.cpu?.cores.other ?? 0) > 0.2).map((l) => l.name);
  if (disturbed.length)
    out.push(
      `WARNING: other processes used CPU during ${disturbed.join(', ')}: rerun on a quiet machine`,
    );
  const failed = loads.flatMap(failures);
  if (failed.length) out.push('', 'failures:', ...failed);

  const ratio = app && baseline ? app.load.rate / baseline.load.rate : undefined;
  out.push('');
  const ofFloor = app && floor ? app.load.rate / floor.rate : undefined;
  const batchRatio = batchLoad && baseline ? batchLoad.rate / baseline.load.rate : undefined;
  if (ratio !== undefined)
    out.push(`app / baseline: ${(ratio * 100).toFixed(1)} % of the bare Postgres rate`);
  if (ofFloor !== undefined)
    out.push(`app / HTTP floor: ${(ofFloor * 100).toFixed(1)} % of the floor's rate`);
  if (batchRatio !== undefined)
    out.push(`batch / baseline: ${batchRatio.toFixed(2)} x the bare Postgres rate`);
  if (app) out.push(`app: ${verificationLine(app.verification)}`);
  if (baseline)
    out.push(
      `baseline: ${baseline.consistent ? 'consistent' : 'INCONSISTENT'}: ${baseline.detail}`,
    );
  if (batch) out.push(`batch: ${verificationLine(batch.verification)}`);
  if (hot) {
    out.push(`hot: ${verificationLine(hot.verification)}`);
    if (hot.capped) out.push('hot: the daily points cap was reached (capped events write less)');
  }

  const targets: [string, boolean | undefined, string][] = [];
  if (app) {
    targets.push(['app events/s >= 1,000', app.load.rate >= 1000, app.load.rate.toFixed(1)]);
    targets.push([
      'app p99 < 50 ms',
      app.load.latency.p99 < 50,
      `${app.load.latency.p99.toFixed(1)} ms`,
    ]);
  }
  if (ratio !== undefined)
    targets.push(['app >= 40 % of baseline', ratio >= 0.4, `${(ratio * 100).toFixed(1)} %`]);
  if (ofFloor !== undefined)
    targets.push(['app >= 50 % of HTTP floor', ofFloor >= 0.5, `${(ofFloor * 100).toFixed(1)} %`]);
  if (batchRatio !== undefined)
    targets.push(['batch >= 3 x baseline', batchRatio >= 3, `${batchRatio.toFixed(2)} x`]);
  if (batch) {
    const wrong = batch.verification.mismatches.length;
    targets.push([
      'batch: balances exact',
      wrong === 0 && batch.load.ok > 0,
      wrong ? batch.verification.mismatches.slice(0, 3).join('; ') : 'balance = sum earned',
    ]);
  }
  if (hot) {
    targets.push([
      'hot member p99 < 150 ms',
      hot.load.latency.p99 < 150,
      `${hot.load.latency.p99.toFixed(1)} ms`,
    ]);
    const lost = hot.verification.mismatches.length;
    targets.push([
      'hot member: no lost update',
      lost === 0 && hot.load.ok > 0,
      lost ? hot.verification.mismatches.join('; ') : 'balance = sum earned, audit consistent',
    ]);
  }
  out.push('', 'targets:');
  for (const [name, pass, value] of targets)
    out.push(`  ${pass ? 'PASS' : 'MISS'}  ${name.padEnd(28)} ${value}`);
  console.log(out.join('\n'));
}

function verificationLine(v: Verification): string {
  const shown = v.mismatches.slice(0, 3).join('; ');
  return v.mismatches.length
    ? `${v.mismatches.length} of ${v.members} members MISMATCH: ${shown}`
    : `${v.members} member(s) audited, balances = sum of points earned (${v.earned}), audits consistent`;
}
