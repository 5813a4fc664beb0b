/**
 * Where a redemption's time goes, from its Temporal history (the server's own timestamps): waiting
 * for a worker to pick up workflow and activity tasks (schedule-to-start), running them, and
 * waiting for the warehouse's callbacks. Read for a sample of redemptions after the load.
 */
import { Connection, Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { inParallel } from './load';
import { Latencies, type LatencySummary } from './latency';

const T = temporal.api.enums.v1.EventType;
type Event = temporal.api.history.v1.IHistoryEvent;
type LongLike = number | { toNumber(): number } | null | undefined;
const num = (v: LongLike): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

/** Per redemption: its time from start to close, and how it splits (sums over its tasks). */
const parts = {
  total: 'workflow start -> close',
  wftQueue: 'workflow tasks waiting for the worker',
  wftRun: 'workflow tasks running',
  activityQueue: 'activities waiting for the worker',
  activityRun: 'activities running',
  warehouse: 'shipment accepted -> delivered signal',
} as const;
type Part = keyof typeof parts;

export interface HistoryReport {
  sampled: number;
  /** Means per redemption. */
  events: number;
  workflowTasks: number;
  /** Activities the server schedules (three events each, and a workflow task after). */
  activities: number;
  /** Local activities: run inside a workflow task, one marker event each. */
  localActivities: number;
  signals: number;
  /** Over the sampled redemptions, each figure summed within one redemption. */
  perRedemption: Record<Part, LatencySummary>;
  /** Over every task of the sampled redemptions. */
  perTask: { wftQueue: LatencySummary; wftRun: LatencySummary; activityQueue: LatencySummary };
  /** Mean milliseconds per redemption in each activity type. */
  activityTypes: Map<string, { count: number; ms: number }>;
}

function analyse(
  events: Event[],
  into: Record<Part, Latencies>,
  perTask: Record<string, Latencies>,
) {
  const at = new Map<number, number>();
  const activityType = new Map<number, string>();
  const sums: Record<Part, number> = {
    total: 0,
    wftQueue: 0,
    wftRun: 0,
    activityQueue: 0,
    activityRun: 0,
    warehouse: 0,
  };
  const types: [string, number][] = [];
  let shipmentAccepted: number | undefined;
  let signals = 0;
  let localActivities = 0;
  for (const e of events) {
    const time = tsToMs(e.eventTime);
    at.set(num(e.eventId), time);
    const since = (id: LongLike) => time - (at.get(num(id)) ?? time);
    switch (e.eventType) {
      case T.EVENT_TYPE_WORKFLOW_TASK_STARTED: {
        const ms = since(e.workflowTaskStartedEventAttributes?.scheduledEventId);
        sums.wftQueue += ms;
        perTask.wftQueue!.add(ms);
        break;
      }
      case T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: {
        const ms = since(e.workflowTaskCompletedEventAttributes?.startedEventId);
        sums.wftRun += ms;
        perTask.wftRun!.add(ms);
        break;
      }
      case T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        activityType.set(
          num(e.eventId),
          e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?',
        );
        break;
      case T.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const ms = since(e.activityTaskStartedEventAttributes?.scheduledEventId);
        sums.activityQueue += ms;
        perTask.activityQueue!.add(ms);
        break;
      }
      case T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        const attrs = e.activityTaskCompletedEventAttributes;
        const ms = since(attrs?.startedEventId);
        sums.activityRun += ms;
        const type = activityType.get(num(attrs?.scheduledEventId)) ?? '?';
        types.push([type, since(attrs?.scheduledEventId)]);
        if (type === 'createShipment') shipmentAccepted = time;
        break;
      }
      case T.EVENT_TYPE_MARKER_RECORDED:
        if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
          localActivities++;
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        signals++;
        if (signals === 2 && shipmentAccepted !== undefined)
          sums.warehouse = time - shipmentAccepted;
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        sums.total = time - tsToMs(events[0]!.eventTime);
        break;
    }
  }
  for (const part of Object.keys(parts) as Part[]) into[part].add(sums[part]);
  return { types, signals, localActivities };
}

/** Reads the histories of `redemptionIds` (a sample) and sums up where their time went. */
export async function readHistories(
  address: string,
  namespace: string,
  redemptionIds: string[],
): Promise<HistoryReport | undefined> {
  if (redemptionIds.length === 0) return undefined;
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace });
    const into = Object.fromEntries(Object.keys(parts).map((p) => [p, new Latencies()])) as Record<
      Part,
      Latencies
    >;
    const perTask = {
      wftQueue: new Latencies(),
      wftRun: new Latencies(),
      activityQueue: new Latencies(),
    };
    const totals = { events: 0, workflowTasks: 0, activities: 0, localActivities: 0, signals: 0 };
    const activityTypes = new Map<string, { count: number; ms: number }>();
    await inParallel(redemptionIds, 4, async (id) => {
      const history = await client.workflow.getHandle(`redemption:${id}`).fetchHistory();
      const events = history.events ?? [];
      const wftBefore = perTask.wftQueue.count;
      const { types, signals, localActivities } = analyse(events, into, perTask);
      totals.events += events.length;
      totals.workflowTasks += perTask.wftQueue.count - wftBefore;
      totals.activities += types.length;
      totals.localActivities += localActivities;
      totals.signals += signals;
      for (const [type, ms] of types) {
        const t = activityTypes.get(type) ?? { count: 0, ms: 0 };
        activityTypes.set(type, { count: t.count + 1, ms: t.ms + ms });
      }
    });
    const n = redemptionIds.length;
    for (const t of activityTypes.values()) {
      t.count /= n;
      t.ms /= n;
    }
    return {
      sampled: n,
      events: totals.events / n,
      workflowTasks: totals.workflowTasks / n,
      activities: totals.activities / n,
      localActivities: totals.localActivities / n,
      signals: totals.signals / n,
      perRedemption: Object.fromEntries(
        Object.entries(into).map(([p, l]) => [p, l.summary()]),
      ) as Record<Part, LatencySummary>,
      perTask: {
        wftQueue: perTask.wftQueue.summary(),
        wftRun: perTask.wftRun.summary(),
        activityQueue: perTask.activityQueue.summary(),
      },
      activityTypes,
    };
  } finally {
    await connection.close();
  }
}

export function historyLines(h: HistoryReport): string[] {
  const ms = (v: number) => `${v.toFixed(0)} ms`.padStart(8);
  const out = [
    `Temporal histories of ${h.sampled} redemptions from the measured window (server timestamps):`,
    `  each: ${h.events.toFixed(0)} events, ${h.workflowTasks.toFixed(1)} workflow tasks, ${h.activities.toFixed(1)} activities, ${h.localActivities.toFixed(1)} local activities, ${h.signals.toFixed(1)} signals`,
    `  per redemption (sum over its tasks)          p50      p90      p99`,
  ];
  for (const [part, label] of Object.entries(parts) as [Part, string][]) {
    const s = h.perRedemption[part];
    out.push(`    ${label.padEnd(42)}${ms(s.p50)} ${ms(s.p90)} ${ms(s.p99)}`);
  }
  const t = h.perTask;
  out.push(`  per task                                     p50      p90      p99`);
  out.push(
    `    workflow task schedule-to-start           ${ms(t.wftQueue.p50)} ${ms(t.wftQueue.p90)} ${ms(t.wftQueue.p99)}`,
  );
  out.push(
    `    workflow task run                         ${ms(t.wftRun.p50)} ${ms(t.wftRun.p90)} ${ms(t.wftRun.p99)}`,
  );
  out.push(
    `    activity schedule-to-start                ${ms(t.activityQueue.p50)} ${ms(t.activityQueue.p90)} ${ms(t.activityQueue.p99)}`,
  );
  const types = [...h.activityTypes]
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([type, { count, ms: total }]) => `${type} ${count.toFixed(0)}x ${total.toFixed(0)} ms`);
  out.push(`  activities, scheduled -> completed, mean per redemption: ${types.join(', ')}`);
  return out;
}
