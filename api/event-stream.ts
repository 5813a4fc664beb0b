/** The wire side of the API's server-sent event streams: the headers and one event's lines. */
import type { Response } from 'express';

/** Answers 200 as `text/event-stream`, unbuffered by proxies, headers sent at once. */
export function openEventStream(res: Response): void {
  res.status(200).set({
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
}

/** One event; with an `id:` when given (what a reconnecting EventSource sends as Last-Event-ID). */
export function sendEvent(
  res: Response,
  event: string,
  data: unknown,
  eventId?: number | string,
): void {
  res.write(
    `${eventId === undefined ? '' : `id: ${eventId}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`,
  );
}
