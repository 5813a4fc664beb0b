/** The redemption bench's closing report: rates, latencies, CPU, the checks and the targets. */
import os from 'node:os';
import { historyLines, type HistoryReport } from './histories';
import type { LatencySummary } from './latency';
import type { LoadResult } from './load';
import type { CheckResult } from './redemption-check';
import type { StackCpu } from './stack-cpu';

export interface Window {
  /** Seconds measured (the warm-up excluded). */
  seconds: number;
  clients: number;
  /** Redemptions seen completed within the window, and their rate. */
  completed: number;
  rate: number;
  /** POST /redemptions, and POST to seeing `completed`, for redemptions asked for in the window. */
  post: LatencySummary;
  endToEnd: LatencySummary;
  cpu: StackCpu | undefined;
  benchCpu: number;
}

const ms = (v: number) => v.toFixed(1).padStart(8);

export function printReport(
  window: Window,
  load: LoadResult,
  check: CheckResult,
  histories: HistoryReport | undefined,
): void {
  const { post, endToEnd: e2e, cpu } = window;
  const out = [
    '',
    `clients  completed  completed/s |  POST p50  POST p99 |   e2e p50   e2e p90   e2e p99   e2e max | CPU busy  bench CPU`,
    `${String(window.clients).padStart(7)}  ${String(window.completed).padStart(9)}  ${window.rate
      .toFixed(1)
      .padStart(11)} |  ${ms(post.p50)}  ${ms(post.p99)} |  ${ms(e2e.p50)}  ${ms(e2e.p90)}  ${ms(
      e2e.p99,
    )}  ${ms(e2e.max)} | ${cpu ? `${(cpu.machine * 100).toFixed(0)} %`.padStart(8) : '       -'}  ${(
      window.benchCpu * 100
    )
      .toFixed(0)
      .padStart(7)} %`,
    `(${window.seconds.toFixed(0)} s measured after the warm-up; latencies in ms, of the ${e2e.count} redemptions asked for in that window;`,
    ' e2e: from sending POST /redemptions to a GET /redemptions/:id answering completed)',
  ];
  if (cpu) {
    const c = cpu.cores;
    out.push(
      '',
      `CPU by process, in cores (this machine has ${os.cpus().length}):`,
      `  api ${c.api.toFixed(2)}, worker ${c.worker.toFixed(2)}, temporal ${c.temporal.toFixed(2)}, postgres ${c.postgres.toFixed(2)}, partners ${cpu.partners.toFixed(2)}, bench ${c.bench.toFixed(2)}, other ${c.other.toFixed(2)}, unaccounted ${cpu.unaccounted.toFixed(2)}`,
    );
    if (c.other + cpu.unaccounted > 0.2)
      out.push('WARNING: other processes used CPU meanwhile: rerun on a quiet machine');
  }
  if (load.failures.size) {
    out.push('', 'client-side failures (whole run):');
    for (const [message, n] of load.failures) out.push(`  ${n} x ${message}`);
  }
  const statuses = [...check.statuses].map(([s, n]) => `${s} ${n}`).join(', ');
  out.push('', `redemptions of this run (warm-up included): ${statuses || 'none'}`);
  for (const [reason, n] of check.reasons) out.push(`  ${n} x ${reason}`);
  out.push(`checked in ${check.seconds.toFixed(1)} s:`);
  for (const c of check.checks) out.push(`  ${c.ok ? 'ok  ' : 'BAD '}  ${c.name}: ${c.detail}`);
  if (histories) out.push('', ...historyLines(histories));

  const targets: [string, boolean, string][] = [
    ['completed/s >= 50', window.rate >= 50, window.rate.toFixed(1)],
    ['e2e p99 < 1 s', e2e.p99 < 1000, `${e2e.p99.toFixed(0)} ms`],
    ...(histories
      ? ([
          ['history <= 30 events', histories.events <= 30, `${histories.events.toFixed(1)} events`],
          [
            'activities <= 4 (not local)',
            histories.activities <= 4,
            `${histories.activities.toFixed(1)} (+ ${histories.localActivities.toFixed(1)} local)`,
          ],
        ] as [string, boolean, string][])
      : []),
    ...check.checks.map((c): [string, boolean, string] => [
      c.name,
      c.ok,
      c.ok ? 'exact' : c.detail,
    ]),
  ];
  out.push('', 'targets:');
  for (const [name, pass, value] of targets)
    out.push(`  ${pass ? 'PASS' : 'MISS'}  ${name.padEnd(30)} ${value}`);
  console.log(out.join('\n'));
}
