/**
 * Postgres notifications fanned out in-process: one connection LISTENs on a channel for the whole
 * process (opened with the first subscriber, closed with the last), and each payload goes to the
 * subscribers of its key and to those of `everyKey`. Writers `pg_notify` in the transaction that makes the change, so a
 * notification is only ever sent for a change that committed.
 */
import pg from 'pg';

/** The key that hears every payload on the channel, whatever its own key. */
export const everyKey = '*';

export interface Notifications {
  /**
   * Calls `listener` with each payload for `key` (and `closed` if `close` drops it); answers once
   * listening, with the unsubscribe.
   */
  subscribe(
    key: string,
    listener: (payload: unknown) => void,
    closed?: () => void,
  ): Promise<() => void>;
  /** Drops every subscriber (each told) and the connection: the process is stopping. */
  close(): Promise<void>;
}

export interface NotificationOptions {
  url: string;
  channel: string;
  /** The key a payload belongs to (its subscribers get it). */
  keyOf: (payload: unknown) => string | undefined;
  onError: (err: Error) => void;
}

export function createNotifications(options: NotificationOptions): Notifications {
  const subscribers = new Map<string, Set<(payload: unknown) => void>>();
  const onClose = new Set<() => void>();
  let connecting: Promise<pg.Client> | null = null;
  let count = 0;

  const dispatch = (message: pg.Notification): void => {
    let payload: unknown;
    try {
      payload = JSON.parse(message.payload ?? 'null');
    } catch {
      return;
    }
    const key = options.keyOf(payload);
    for (const listener of (key && subscribers.get(key)) || []) listener(payload);
    for (const listener of subscribers.get(everyKey) ?? []) listener(payload);
  };

  const connect = (): Promise<pg.Client> => {
    connecting ??= (async () => {
      const client = new pg.Client({ connectionString: options.url });
      client.on('notification', dispatch);
      client.on('error', (err) => {
        // The connection is gone: the next subscriber opens a new one; the current ones are told.
        options.onError(err);
        connecting = null;
        void client.end().catch(() => undefined);
      });
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(options.channel)}`);
      return client;
    })();
    const opened = connecting;
    opened.catch(() => {
      if (connecting === opened) connecting = null;
    });
    return opened;
  };

  const disconnect = async (): Promise<void> => {
    const open = connecting;
    connecting = null;
    if (open) await (await open.catch(() => null))?.end().catch(() => undefined);
  };

  return {
    async subscribe(key, listener, closed) {
      let set = subscribers.get(key);
      if (!set) subscribers.set(key, (set = new Set()));
      set.add(listener);
      count += 1;
      let subscribed = true;
      if (closed) onClose.add(closed);
      const unsubscribe = (): void => {
        if (!subscribed) return;
        subscribed = false;
        if (closed) onClose.delete(closed);
        set.delete(listener);
        if (set.size === 0) subscribers.delete(key);
        count -= 1;
        if (count === 0) void disconnect();
      };
      try {
        await connect();
      } catch (err) {
        unsubscribe();
        throw err;
      }
      return unsubscribe;
    },
    async close() {
      const told = [...onClose];
      onClose.clear();
      subscribers.clear();
      count = 0;
      for (const tell of told) tell();
      await disconnect();
    },
  };
}
