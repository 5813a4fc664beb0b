/**
 * A page's live updates pushed by the API as server-sent events (EventSource sends the session
 * cookie), instead of polling: `changed` on each step or status, the stream closed at its `end`.
 */
import { useEffect, useRef } from 'react';

/** Listens to `url` while mounted and while `key` stays the same (a new key opens it anew). */
export function useEvents(url: string, changed: () => void, key: string): void {
  const latest = useRef(changed);
  useEffect(() => {
    latest.current = changed;
  });
  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    const source = new EventSource(url, { withCredentials: true });
    let first = true;
    const onChange = () => latest.current();
    // The first `status` is the one the page just read; each later event is news.
    source.addEventListener('status', () => {
      if (!first) onChange();
      first = false;
    });
    source.addEventListener('step', onChange);
    // Ended: the server closes it, and EventSource must not reconnect.
    source.addEventListener('end', () => source.close());
    return () => source.close();
  }, [url, key]);
}
