/**
 * A closed-loop load driver: `clients` loops, each sending its next operation as soon as the last
 * one answered, for a fixed time. Records every latency, counts successes and failures, and how
 * busy the machine's CPUs and this process were meanwhile.
 */
import { performance } from 'node:perf_hooks';
import { cpuBetween, cpuSnapshot, type CpuUsage } from './cpu';
import { Latencies, type LatencySummary } from './latency';

/** One operation by client `client`; resolves true on success, false (or throws) on failure. */
export type Operation = (client: number, seq: number) => Promise<boolean>;

export interface LoadResult {
  name: string;
  clients: number;
  seconds: number;
  ok: number;
  failed: number;
  /** Successful operations per second. */
  rate: number;
  latency: LatencySummary;
  /** Up to five distinct failure messages, with counts. */
  failures: Map<string, number>;
  /** Where the machine's CPU went meanwhile, when /proc is readable. */
  cpu: CpuUsage | undefined;
  /** This process's CPU time over the run, in cores (1 = one core flat out). */
  benchCpu: number;
}

export async function runLoad(
  name: string,
  clients: number,
  durationMs: number,
  operation: Operation,
): Promise<LoadResult> {
  const latencies = new Latencies();
  const failures = new Map<string, number>();
  let ok = 0;
  let failed = 0;
  const fail = (message: string): void => {
    failed++;
    if (failures.has(message) || failures.size < 5)
      failures.set(message, (failures.get(message) ?? 0) + 1);
  };

  const cpuBefore = cpuSnapshot();
  const benchBefore = process.cpuUsage();
  const start = performance.now();
  const deadline = start + durationMs;
  const loop = async (client: number): Promise<void> => {
    for (let seq = 0; performance.now() < deadline; seq++) {
      const sent = performance.now();
      try {
        if (await operation(client, seq)) {
          ok++;
          latencies.add(performance.now() - sent);
        } else fail('unsuccessful answer');
      } catch (err) {
        fail((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => loop(i)));
  const elapsed = performance.now() - start;
  const bench = process.cpuUsage(benchBefore);
  const cpuAfter = cpuSnapshot();

  return {
    name,
    clients,
    seconds: elapsed / 1000,
    ok,
    failed,
    rate: ok / (elapsed / 1000),
    latency: latencies.summary(),
    failures,
    cpu: cpuBetween(cpuBefore, cpuAfter, elapsed / 1000),
    benchCpu: (bench.user + bench.system) / 1000 / elapsed,
  };
}

/** Runs `work` over `items` with at most `limit` at a time. */
export async function inParallel<T, R>(
  items: T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
