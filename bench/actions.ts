/**
 * `npx tsx bench/actions.ts`: Temporal Cloud actions per redemption, estimated from the histories
 * of closed redemption workflows on a running stack (after `npm run bench:redemption`).
 *
 * Counted per https://docs.temporal.io/cloud/actions, for what a history shows:
 *   workflow started 1 (a start deduplicated by its ID is not in a history); update accepted 1
 *   each (Update-with-Start: the start and the update); signal received 1 each; signal sent to
 *   another workflow 1 each; timer started 1 each; search attribute upsert 1 each, except one
 *   that only sets `TemporalChangeVersion`; activity started 1 per attempt; local activities 1 per
 *   workflow task that recorded any; child workflow 2; continue-as-new 1.
 * Not in a history, so not counted here: queries (each one a billed action: add the polls that
 * reached the workflow), rejected updates, heartbeats, and actions in other workflows.
 */
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { loadConfig } from '../config';
import { dataConverterOf } from '../infra/payload-codec';
import { inParallel } from './load';
import { positive } from './options';

const T = temporal.api.enums.v1.EventType;
type Event = temporal.api.history.v1.IHistoryEvent;
type LongLike = number | { toNumber(): number } | null | undefined;
const num = (v: LongLike): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

const { values: args } = parseArgs({
  options: {
    sample: { type: 'string', default: '50' },
    query: {
      type: 'string',
      default: "WorkflowType = 'redemptionWorkflow' AND ExecutionStatus = 'Completed'",
    },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(`Usage: npx tsx bench/actions.ts [--sample N (50)] [--query VISIBILITY_QUERY]
TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE as for the stack.`);
  process.exit(0);
}

export function actionsOf(events: Event[]): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (what: string, n = 1) => counts.set(what, (counts.get(what) ?? 0) + n);
  const tasksWithLocal = new Set<number>();
  for (const e of events) {
    switch (e.eventType) {
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        add('workflow started');
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        add('update');
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        add('signal received');
        break;
      case T.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
        add('signal sent');
        break;
      case T.EVENT_TYPE_TIMER_STARTED:
        add('timer');
        break;
      case T.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        const fields = Object.keys(
          e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {},
        );
        if (fields.some((f) => f !== 'TemporalChangeVersion')) add('search attribute upsert');
        else add('(TemporalChangeVersion upsert, exempt)', 0);
        break;
      }
      case T.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        add('activity attempt', Math.max(1, e.activityTaskStartedEventAttributes?.attempt ?? 1));
        break;
      case T.EVENT_TYPE_MARKER_RECORDED: {
        const m = e.markerRecordedEventAttributes;
        if (m?.markerName === 'core_local_activity')
          tasksWithLocal.add(num(m.workflowTaskCompletedEventId));
        break;
      }
      case T.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        add('child workflow', 2);
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        add('continue-as-new');
        break;
    }
  }
  if (tasksWithLocal.size) add('local activities (per workflow task)', tasksWithLocal.size);
  return counts;
}

async function main() {
  const config = loadConfig();
  const sample = positive('sample', args.sample);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const client = new Client({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      dataConverter: dataConverterOf(config),
    });
    const ids: string[] = [];
    for await (const w of client.workflow.list({ query: args.query })) {
      ids.push(w.workflowId);
      if (ids.length >= sample) break;
    }
    if (!ids.length) throw new Error(`no workflow matches: ${args.query}`);
    const totals = new Map<string, number>();
    let events = 0;
    let actions = 0;
    const perRun: number[] = [];
    const sizes: number[] = [];
    await inParallel(ids, 4, async (id) => {
      const history = await client.workflow.getHandle(id).fetchHistory();
      const counts = actionsOf(history.events ?? []);
      events += history.events?.length ?? 0;
      sizes.push(history.events?.length ?? 0);
      let sum = 0;
      for (const [what, n] of counts) {
        totals.set(what, (totals.get(what) ?? 0) + n);
        sum += n;
      }
      actions += sum;
      perRun.push(sum);
    });
    const n = ids.length;
    perRun.sort((a, b) => a - b);
    sizes.sort((a, b) => a - b);
    const spread = [...new Set(sizes)].map((s) => `${s}: ${sizes.filter((x) => x === s).length}`);
    console.log(`${n} closed workflows (${args.query})`);
    console.log(`events per history: mean ${(events / n).toFixed(2)} (${spread.join(', ')})`);
    console.log(
      `actions in the history, per workflow: mean ${(actions / n).toFixed(2)}, min ${perRun[0]}, max ${perRun[n - 1]}`,
    );
    for (const [what, total] of [...totals].sort((a, b) => b[1] - a[1]))
      console.log(`  ${what.padEnd(40)} ${(total / n).toFixed(2)}`);
  } finally {
    await connection.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
