/**
 * The redemption queue's changes pushed as server-sent events, for ops screens: each redemption
 * that changed (asked for, a step, a status), in the order of the transactions that changed it,
 * and the counts per status when they moved. Woken by the step notifications (the one LISTEN
 * connection of the process, shared with the redemption streams); each heartbeat reads too, so a
 * notification lost with its connection costs at most one heartbeat of delay.
 *
 * Resuming: an event's `id:` is the feed's watermark (see `changeWatermark`), so a reconnect with
 * `Last-Event-ID` (or `?since=` with the `cursor` of GET /redemptions) gets every redemption that
 * changed after it, at its latest state; none is missed, one may come twice.
 */
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { AppConfig } from '../config';
import type { Db } from '../infra/db';
import { everyKey, type Notifications } from '../infra/notifications';
import {
  changeWatermark,
  countQueue,
  queueChanges,
  type QueueFilter,
  type QueueRow,
} from '../redemptions/queue';
import { openEventStream, sendEvent } from './event-stream';
import { queueRowView, redemptionPolicy } from './redemption-detail';
import { cursor as cursorSchema, filterOf, type queueFilter } from './routes/redemption-schemas';

export interface QueueStreamDeps {
  db: Db;
  config: AppConfig;
  steps: Notifications;
  heartbeatMs: number;
}

/** A change committed behind a transaction still running is read again this soon. */
const heldRetryMs = 100;
/** Counts (a scan of the queue) at most this often; reads of changes at most every `readGapMs`. */
const countsEveryMs = 2000;
const readGapMs = 100;
/** Further behind than this many changed redemptions: `reset` (read the queue anew). */
const maxCatchUp = 1000;

type Query = z.infer<typeof queueFilter> & { since?: string | undefined };

export async function streamQueue(
  deps: QueueStreamDeps,
  query: Query,
  req: Request,
  res: Response,
): Promise<void> {
  const resume = req.get('last-event-id');
  // A Last-Event-ID that is not a cursor (another stream's?) is ignored, as no header would be.
  let cursor: string | undefined = cursorSchema.safeParse(resume).success ? resume : query.since;
  let closed = false;
  let queued = false;
  let reading: Promise<void> = Promise.resolve();
  let countsDirty = true; // the counts at once
  let countsSentAt = 0;
  let lastCounts = '';
  let soon: ReturnType<typeof setTimeout> | undefined;

  const cleanup: (() => void)[] = [];
  const stop = (): void => {
    if (closed) return;
    closed = true;
    clearTimeout(soon);
    for (const undo of cleanup) undo();
    res.end();
  };
  const later = (ms: number): void => {
    clearTimeout(soon);
    soon = setTimeout(wake, ms);
  };

  const read = async (): Promise<void> => {
    if (closed) return;
    const watermark = await changeWatermark(deps.db);
    const since = cursor ?? watermark;
    const rows = await queueChanges(deps.db, since, query, maxCatchUp + 1);
    if (closed) return;
    if (rows.length > maxCatchUp) {
      // Too far behind to catch up row by row: the client reads the queue again.
      sendEvent(res, 'reset', { cursor: watermark }, watermark);
      cursor = watermark;
      countsDirty = true;
      return;
    }
    const ready = rows.filter((row) => BigInt(row.change_txid) < BigInt(watermark));
    if (ready.length) {
      const policy = await redemptionPolicy(deps.db, deps.config);
      const filter = filterOf(query, policy.now);
      if (closed) return;
      ready.forEach((row, i) => {
        const view = queueRowView(deps.config, row, policy);
        const last = i === ready.length - 1;
        sendEvent(res, 'change', changeOf(row, view, filter), last ? watermark : undefined);
      });
      countsDirty = true;
    }
    if (BigInt(watermark) > BigInt(since)) cursor = watermark;
    else cursor = since;
    if (countsDirty) await sendCounts();
    if (rows.length > ready.length) later(heldRetryMs);
  };

  const sendCounts = async (): Promise<void> => {
    const wait = countsSentAt + countsEveryMs - Date.now();
    if (wait > 0) return later(wait);
    countsDirty = false;
    countsSentAt = Date.now();
    const policy = await redemptionPolicy(deps.db, deps.config);
    const counts = await countQueue(deps.db, filterOf(query, policy.now), policy);
    const json = JSON.stringify(counts);
    if (closed || json === lastCounts) return;
    lastCounts = json;
    sendEvent(res, 'counts', counts);
  };

  // One read at a time, wake-ups while one waits folded into it; a failed read is retried at the
  // next wake-up or heartbeat.
  const wake = (): void => {
    if (queued || closed) return;
    queued = true;
    reading = reading
      .then(() => {
        queued = false;
        return read();
      })
      .then(() => new Promise<void>((resolve) => setTimeout(resolve, readGapMs)))
      .catch((err: unknown) => {
        req.log?.warn({ err }, 'redemption queue event stream: read failed');
      });
  };

  req.on('close', stop);
  // Listening before the watermark is taken: nothing committed in between is missed.
  const unsubscribe = await deps.steps.subscribe(everyKey, wake, stop);
  if (closed) return unsubscribe();
  cursor ??= await changeWatermark(deps.db);
  const heartbeat = setInterval(() => {
    res.write(': heartbeat\n\n');
    wake();
  }, deps.heartbeatMs);
  cleanup.push(unsubscribe, () => clearInterval(heartbeat));
  openEventStream(res);
  // Where it starts, so a client that lost the stream before any change can resume from here.
  sendEvent(res, 'ready', { cursor }, cursor);
  wake();
  await reading;
}

/**
 * One redemption's change: its row (as GET /redemptions lists it) if it matches the stream's
 * filters now, else only what says it left them (`matches: false`: take it off the screen).
 */
function changeOf(row: QueueRow, view: ReturnType<typeof queueRowView>, filter: QueueFilter) {
  const matches =
    (!filter.statuses?.length || filter.statuses.includes(row.status)) &&
    (!filter.tier || row.tier === filter.tier) &&
    (!filter.createdBefore || row.created_at < filter.createdBefore) &&
    (filter.atRisk === undefined || filter.atRisk === view.atRisk);
  return {
    redemptionId: row.id,
    status: row.status,
    updatedAt: view.updatedAt,
    matches,
    row: matches ? view : null,
  };
}
