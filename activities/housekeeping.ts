/**
 * Housekeeping: tables that would otherwise grow forever lose their rows past retention, a batch
 * per statement (short transactions, so the API's inserts never wait long), heartbeating between
 * batches so a worker that dies mid-run hands the rest to a retry.
 */
import { heartbeat } from '@temporalio/activity';
import type { Db } from '../infra/db';

/** The tables housekeeping prunes, each by its time column. */
export const prunableTables = {
  idempotency_keys: 'created_at',
  inbound_webhooks: 'received_at',
} as const;
export type PrunableTable = keyof typeof prunableTables;

export interface PruneInput {
  table: PrunableTable;
  /** Rows older than this many hours go. */
  olderThanHours: number;
  batchSize: number;
}

export function createHousekeepingActivities(deps: { db: Db }) {
  return {
    /** Deletes `table`'s rows older than the retention; answers how many went. */
    async pruneOldRows(input: PruneInput): Promise<number> {
      const column = prunableTables[input.table];
      let total = 0;
      for (;;) {
        const { rowCount } = await deps.db.raw<{ rowCount: number }>(
          `DELETE FROM ?? WHERE ctid = ANY (ARRAY(
             SELECT ctid FROM ?? WHERE ?? < now() - make_interval(secs => ?) LIMIT ?))`,
          [input.table, input.table, column, input.olderThanHours * 3600, input.batchSize],
        );
        total += rowCount;
        heartbeat(total);
        if (rowCount < input.batchSize) return total;
      }
    },
  };
}

export type HousekeepingActivities = ReturnType<typeof createHousekeepingActivities>;
