/** The two shapes of concurrency an import uses: batches saved in order, and bounded fan-out. */

/**
 * Collects items into batches of `size` and saves each with `save`, one at a time and in order,
 * while the caller goes on reading the next: reading and writing overlap, and a reader that
 * awaits `push` never gets more than one batch ahead.
 */
export function batches<T>(size: number, save: (batch: T[]) => Promise<void>) {
  let batch: T[] = [];
  let saving: Promise<void> = Promise.resolve();
  const flush = async () => {
    await saving;
    const full = batch;
    batch = [];
    if (full.length === 0) return;
    saving = save(full);
    saving.catch(() => {}); // handled: awaited, and so thrown, by the next flush
  };
  return {
    async push(item: T): Promise<void> {
      batch.push(item);
      if (batch.length >= size) await flush();
    },
    async end(): Promise<void> {
      await flush();
      await saving;
    },
  };
}

/**
 * Runs tasks with at most `limit` in flight. `add` waits for a free slot. The first task to throw
 * stops the lot: later `add`s and `drain` rethrow its error.
 */
export function limiter(limit: number) {
  const running = new Set<Promise<void>>();
  let failed: { error: unknown } | undefined;
  const check = () => {
    if (failed) throw failed.error;
  };
  return {
    async add(task: () => Promise<void>): Promise<void> {
      while (running.size >= limit) await Promise.race(running);
      check();
      const promise: Promise<void> = task()
        .catch((error: unknown) => {
          failed ??= { error };
        })
        .finally(() => running.delete(promise));
      running.add(promise);
    },
    async drain(): Promise<void> {
      await Promise.all(running);
      check();
    },
  };
}
