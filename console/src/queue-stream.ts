/**
 * The queue kept current by the API's pushes (GET /redemptions/events), not by polling: read once
 * (the page of rows, the counts, and the cursor the page was read at), then each change from that
 * cursor updates its row in place and each `counts` the counts. Read anew when the filters change,
 * when the API says `reset` (too far behind), when a full page has thinned out, and once a minute
 * for the SLA clock (at risk moves with time, not with changes). Polls only if the stream fails.
 */
import { useEffect, useRef, useState } from 'react';
import type { RedemptionCounts, RedemptionPage, RedemptionRow, RedemptionStatus } from './api';
import type { Polled } from './components';

export interface QueueView {
  rows: RedemptionRow[];
  /** More match than the page holds: only changes among (or older than) its rows are shown. */
  more: boolean;
  counts: RedemptionCounts;
}

/** One `change` event: the row while it matches the page's filters, else null (take it off). */
interface QueueChange {
  redemptionId: string;
  status: RedemptionStatus;
  updatedAt: string;
  matches: boolean;
  row: RedemptionRow | null;
}

const slaRefreshMs = 60_000;

/** A redemption's change applied to the page, kept oldest first as the API lists it. */
export function applyChange(view: QueueView, change: QueueChange): QueueView {
  const rows = view.rows.filter((r) => r.redemptionId !== change.redemptionId);
  const row = change.row;
  const last = rows.at(-1);
  // On a full page, a row newer than its last is beyond the page (as the API would page it).
  if (row && (!view.more || !last || row.createdAt <= last.createdAt)) {
    const at = rows.findIndex(
      (r) =>
        r.createdAt > row.createdAt ||
        (r.createdAt === row.createdAt && r.redemptionId > row.redemptionId),
    );
    rows.splice(at < 0 ? rows.length : at, 0, row);
  }
  return { ...view, rows };
}

export function useQueueStream(
  load: () => Promise<QueueView & { cursor: RedemptionPage['cursor'] }>,
  eventsUrl: string,
  pageSize: number,
  pollMs: number,
  key: string,
): Polled<QueueView> {
  const [state, setState] = useState<Omit<Polled<QueueView>, 'reload'>>({
    data: undefined,
    error: undefined,
    updatedAt: undefined,
  });
  const latest = useRef(load);
  useEffect(() => {
    latest.current = load;
  });
  const [tick, setTick] = useState(0);
  const reload = () => setTick((n) => n + 1);

  useEffect(() => {
    let live = true;
    let source: EventSource | undefined;
    const timer = setTimeout(reload, slaRefreshMs);
    let view: QueueView | undefined;
    const update = (next: (view: QueueView) => QueueView) => {
      if (!live || !view) return;
      view = next(view);
      setState({ data: view, error: undefined, updatedAt: new Date() });
    };
    // The stream failed (or the browser has none): poll as before.
    const poll = () => {
      source?.close();
      clearTimeout(timer);
      setTimeout(() => live && reload(), pollMs);
    };
    latest
      .current()
      .then(({ cursor, ...read }) => {
        if (!live) return;
        view = read;
        setState({ data: read, error: undefined, updatedAt: new Date() });
        if (typeof EventSource === 'undefined') return poll();
        const join = eventsUrl.includes('?') ? '&' : '?';
        source = new EventSource(`${eventsUrl}${join}since=${encodeURIComponent(cursor)}`, {
          withCredentials: true,
        });
        source.addEventListener('change', (e) => {
          const change = JSON.parse((e as MessageEvent<string>).data) as QueueChange;
          update((v) => applyChange(v, change));
          // Rows that left a full page leave a gap only a read can fill.
          if (view?.more && view.rows.length < pageSize / 2) reload();
        });
        source.addEventListener('counts', (e) => {
          const counts = JSON.parse((e as MessageEvent<string>).data) as RedemptionCounts;
          update((v) => ({ ...v, counts }));
        });
        source.addEventListener('reset', reload);
        // EventSource reconnects by itself (with Last-Event-ID); closed is for good.
        source.addEventListener('error', () => {
          if (source?.readyState === EventSource.CLOSED) poll();
        });
      })
      .catch((err: unknown) => {
        if (!live) return;
        setState((s) => ({ ...s, error: err instanceof Error ? err : new Error(String(err)) }));
        poll();
      });
    return () => {
      live = false;
      clearTimeout(timer);
      source?.close();
    };
  }, [key, tick, eventsUrl, pageSize, pollMs]);

  return { ...state, reload };
}
