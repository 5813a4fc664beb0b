/**
 * This API process, as the other processes see it: a row in `api_instances` whose `heartbeat_at`
 * it refreshes every `intervalMs`. A row not refreshed for `staleAfterMs` is a process that died
 * (an `Idempotency-Key` lease it holds is taken over); on a clean stop the row is deleted.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Db } from './db';
import type { Logger } from './logger';

export interface ApiInstance {
  id: string;
  /** A holder whose heartbeat is older than this is dead. */
  staleAfterMs: number;
  /** Resolves once the row exists (at the first heartbeat); retried if that failed. */
  registered(): Promise<void>;
  stop(): Promise<void>;
}

/** Three heartbeats missed: dead. */
const missedBeats = 3;
/** Rows of processes dead for this long are deleted by the others. */
const forgetAfterMs = 24 * 3_600_000;

export function startApiInstance(db: Db, intervalMs: number, logger?: Logger): ApiInstance {
  const id = randomUUID();
  const beat = async (): Promise<void> => {
    await db('api_instances')
      .insert({ id, host: os.hostname(), pid: process.pid })
      .onConflict('id')
      .merge({ heartbeat_at: db.fn.now() });
  };
  let first: Promise<void> | undefined;
  const registered = (): Promise<void> => {
    first ??= beat().catch((err: unknown) => {
      first = undefined;
      throw err;
    });
    return first;
  };
  let beats = 0;
  const timer = setInterval(() => {
    beats += 1;
    void beat()
      .then(async () => {
        if (beats % 1000 !== 1) return;
        await db('api_instances')
          .where('heartbeat_at', '<', new Date(Date.now() - forgetAfterMs))
          .delete();
      })
      .catch((err: unknown) => logger?.warn({ err }, 'API heartbeat failed'));
  }, intervalMs);
  timer.unref();
  void registered().catch(() => undefined); // the first request tries again
  return {
    id,
    staleAfterMs: intervalMs * missedBeats,
    registered,
    stop: async () => {
      clearInterval(timer);
      await db('api_instances')
        .where({ id })
        .delete()
        .catch(() => undefined);
    },
  };
}
