/**
 * A redemption's changes pushed as server-sent events: its status at once, then each step as it
 * is written (`id:` is the step's number, so a reconnecting EventSource resumes after the last it
 * saw), and `end` once it has ended. Woken by the step notifications (one LISTEN per process);
 * each heartbeat also re-reads Postgres, so a notification lost with its connection costs at most
 * one heartbeat of delay.
 */
import type { Request, Response } from 'express';
import { codeFor } from '../domain/codes';
import { finalStatuses, redemptionStatuses, type RedemptionStatus } from '../domain/redemption';
import type { Role } from '../domain/roles';
import type { Db } from '../infra/db';
import type { Notifications } from '../infra/notifications';
import { findRedemptionRow, type RedemptionRow, type StepRow } from '../redemptions/records';
import { openEventStream, sendEvent } from './event-stream';
import { notFound } from './problem';

export interface EventStreamDeps {
  db: Db;
  steps: Notifications;
  heartbeatMs: number;
}

/**
 * The stream ends at a final status; a completed redemption whose return was asked for goes on
 * (returned, then refunded). A return asked for after the stream ended: open it again.
 */
const ended = (row: RedemptionRow): boolean =>
  finalStatuses.includes(row.status) &&
  !(row.status === 'completed' && row.return_rule_version !== null);

export async function streamRedemption(
  deps: EventStreamDeps,
  id: string,
  role: Role,
  req: Request,
  res: Response,
): Promise<void> {
  if (!(await findRedemptionRow(deps.db, id))) throw notFound('redemption', 'id', id);
  const resumeAfter = Number(req.get('last-event-id'));
  // The last step sent; null until the first read (a fresh stream starts after what exists).
  let lastSeq: number | null =
    Number.isInteger(resumeAfter) && resumeAfter >= 0 ? resumeAfter : null;
  let lastStatus: RedemptionStatus | null = null;
  let closed = false;
  let reading: Promise<void> = Promise.resolve();

  const send = (event: string, data: unknown, eventId?: number): void =>
    sendEvent(res, event, data, eventId);
  const cleanup: (() => void)[] = [];
  const stop = (): void => {
    if (closed) return;
    closed = true;
    for (const undo of cleanup) undo();
    res.end();
  };
  const read = async (): Promise<void> => {
    if (closed) return;
    const row = await findRedemptionRow(deps.db, id);
    if (!row || closed) return;
    const steps = await deps
      .db<StepRow>('redemption_steps')
      .where({ redemption_id: id })
      .andWhere('seq', '>', lastSeq ?? -1)
      .orderBy('seq');
    if (closed) return;
    if (lastSeq === null) lastSeq = steps.at(-1)?.seq ?? 0;
    else for (const step of steps) send('step', stepView(step, role), (lastSeq = step.seq));
    if (row.status !== lastStatus) send('status', statusView(row, lastSeq), lastSeq);
    lastStatus = row.status;
    if (ended(row)) {
      send('end', { status: row.status });
      stop();
    }
  };
  // One read at a time, in order; a failed read is retried at the next wake-up or heartbeat.
  const wake = (): void => {
    reading = reading.then(read).catch((err: unknown) => {
      req.log?.warn({ err, redemptionId: id }, 'redemption event stream: read failed');
    });
  };

  req.on('close', stop);
  // Listening before the first read: nothing written in between is missed.
  const unsubscribe = await deps.steps.subscribe(id, wake, stop);
  if (closed) return unsubscribe();
  const heartbeat = setInterval(() => {
    res.write(': heartbeat\n\n');
    wake();
  }, deps.heartbeatMs);
  cleanup.push(unsubscribe, () => clearInterval(heartbeat));
  openEventStream(res);
  wake();
  await reading;
}

function stepView(step: StepRow, role: Role) {
  const detail =
    typeof step.detail.coupon === 'string'
      ? { ...step.detail, coupon: codeFor(role, step.detail.coupon) }
      : step.detail;
  return {
    seq: step.seq,
    step: step.step,
    at: step.at.toISOString(),
    detail,
    /** The status the step moved the redemption to, if it did. */
    status: redemptionStatuses.find((s) => s === step.step) ?? null,
  };
}

function statusView(row: RedemptionRow, seq: number | null) {
  return {
    redemptionId: row.id,
    status: row.status,
    reason: row.reason,
    updatedAt: row.updated_at.toISOString(),
    seq,
  };
}
