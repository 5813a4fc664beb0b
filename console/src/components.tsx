/** Small pieces every page uses: polling, the page heading, loading/empty/error states, badges. */
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError } from './api';

export interface Polled<T> {
  data: T | undefined;
  error: Error | undefined;
  updatedAt: Date | undefined;
  reload: () => void;
}

/**
 * Loads now and again every `everyMs` (0: once), keeping the last answer on screen while the
 * next one comes, and the last error until an answer succeeds. `key` changes reload at once.
 */
export function usePolling<T>(load: () => Promise<T>, everyMs: number, key: string): Polled<T> {
  const [state, setState] = useState<Omit<Polled<T>, 'reload'>>({
    data: undefined,
    error: undefined,
    updatedAt: undefined,
  });
  const latest = useRef(load);
  // The newest `load` (it closes over the page's filters), for the timer to call.
  useEffect(() => {
    latest.current = load;
  });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = () => {
      latest
        .current()
        .then(
          (data) => live && setState({ data, error: undefined, updatedAt: new Date() }),
          (err: unknown) =>
            live &&
            setState((s) => ({ ...s, error: err instanceof Error ? err : new Error(String(err)) })),
        )
        .finally(() => {
          if (live && everyMs > 0) timer = setTimeout(run, everyMs);
        });
    };
    run();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key, tick, everyMs]);

  return { ...state, reload };
}

/** The page's heading, also its document title; focused when the page opens (screen readers). */
export function PageHeading({ children, title }: { children: ReactNode; title: string }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · loyalty-ops console`;
    heading.current?.focus();
  }, [title]);
  return (
    <h1 ref={heading} tabIndex={-1}>
      {children}
    </h1>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="state loading" role="status">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state empty">{children}</p>;
}

export function problemText(error: Error): string {
  if (!(error instanceof ApiError)) return error.message;
  const fields = (error.problem.errors ?? []).map((e) => `${e.field}: ${e.message}`);
  return [error.message, ...fields].join(' — ');
}

export function ErrorState({ error, retry }: { error: Error; retry?: () => void }) {
  return (
    <div className="state error" role="alert">
      <p>{problemText(error)}</p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export const statusLabel = (status: string): string => status.replaceAll('_', ' ');

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{statusLabel(status)}</span>;
}

export function SlaBadge({ atRisk, breached }: { atRisk?: boolean; breached?: boolean }) {
  if (breached) return <span className="badge sla-breached">SLA breached</span>;
  if (atRisk) return <span className="badge sla-at-risk">At risk</span>;
  return null;
}

/**
 * "5 min ago" as of `now` (when the page's data last came), with the exact time on hover and
 * for screen readers; the exact time alone until there is a `now`.
 */
export function Ago({ at, now }: { at: string; now: Date | undefined }) {
  if (!now) return <time dateTime={at}>{new Date(at).toLocaleString()}</time>;
  const seconds = Math.max(0, Math.round((now.getTime() - Date.parse(at)) / 1000));
  const text =
    seconds < 60
      ? `${seconds} s ago`
      : seconds < 3600
        ? `${Math.floor(seconds / 60)} min ago`
        : seconds < 86_400
          ? `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min ago`
          : `${Math.floor(seconds / 86_400)} d ${Math.floor((seconds % 86_400) / 3600)} h ago`;
  return (
    <time dateTime={at} title={new Date(at).toLocaleString()}>
      {text}
    </time>
  );
}

export const shortId = (id: string): string => (id.length > 13 ? `${id.slice(0, 8)}…` : id);

export function UpdatedAt({ at }: { at: Date | undefined }) {
  return (
    <p className="updated" aria-live="off">
      {at ? `Updated ${at.toLocaleTimeString()}` : 'Loading…'}
    </p>
  );
}
