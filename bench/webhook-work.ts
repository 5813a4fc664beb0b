/**
 * What the worker and Temporal did in each phase of `bench:webhooks`, from the Temporal
 * histories (the server's timestamps): workflow tasks, activities, signals, timers and
 * continue-as-new per workflow type, counted in each phase's window. Deliveries sent come from
 * `webhook_attempts`, so the two can be put side by side (work per delivery sent).
 */
import { Client, Connection } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { Client as PgClient } from 'pg';
import { inParallel } from './load';

const T = temporal.api.enums.v1.EventType;

export interface Window {
  name: string;
  from: number;
  to: number;
}

const kinds = {
  [T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]: 'tasks',
  [T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]: 'activities',
  [T.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]: 'signals',
  [T.EVENT_TYPE_TIMER_STARTED]: 'timers',
  [T.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW]: 'can',
  [T.EVENT_TYPE_MARKER_RECORDED]: 'local',
} as Record<number, string>;
export const workKinds = ['tasks', 'activities', 'signals', 'timers', 'can', 'local'] as const;

/** Per window, per workflow type: counts of each kind, and all history events. */
export type Work = Map<string, Map<string, Record<string, number>>>;

export async function countWork(address: string, namespace: string, windows: Window[]) {
  const work: Work = new Map(
    windows.map((w) => [w.name, new Map<string, Record<string, number>>()]),
  );
  const from = Math.min(...windows.map((w) => w.from));
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace });
    const runs: { workflowId: string; runId: string; type: string }[] = [];
    for await (const w of client.workflow.list()) {
      if (w.closeTime && w.closeTime.getTime() < from) continue;
      runs.push({ workflowId: w.workflowId, runId: w.runId, type: w.type });
    }
    await inParallel(runs, 8, async (run) => {
      const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      for (const event of history.events ?? []) {
        const at = tsToMs(event.eventTime);
        const window = windows.find((w) => at >= w.from && at < w.to);
        if (!window) continue;
        const byType = work.get(window.name)!;
        const counts = byType.get(run.type) ?? { events: 0 };
        byType.set(run.type, counts);
        counts.events! += 1;
        const kind = kinds[event.eventType ?? 0];
        if (kind) counts[kind] = (counts[kind] ?? 0) + 1;
      }
    });
    return work;
  } finally {
    await connection.close();
  }
}

/** Attempts made (requests sent) in a window, by anyone's deliveries. */
export async function attemptsBetween(pg: PgClient, window: Window): Promise<number> {
  const { rows } = await pg.query<{ n: string }>(
    'SELECT count(*) AS n FROM webhook_attempts WHERE at >= $1 AND at < $2',
    [new Date(window.from), new Date(window.to)],
  );
  return Number(rows[0]!.n);
}

export function printWork(work: Work): void {
  for (const [window, byType] of work) {
    console.log(`  ${window}`);
    for (const [type, counts] of [...byType].sort((a, b) => b[1].events! - a[1].events!)) {
      const parts = workKinds.filter((k) => counts[k]).map((k) => `${k} ${counts[k]}`);
      console.log(`    ${type.padEnd(30)} events ${counts.events}: ${parts.join(', ')}`);
    }
  }
}
