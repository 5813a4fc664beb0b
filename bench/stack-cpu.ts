/**
 * CPU by process for a bench against `npm start`: `cpu.ts`'s groups, but counting as api,
 * worker, temporal, postgres and partners only the processes of `npm start` itself.
 */
import fs from 'node:fs';
import os from 'node:os';
import { cpuBetween, cpuSnapshot, type CpuSnapshot, type CpuUsage } from './cpu';

const ticksPerSecond = 100; // USER_HZ, as in cpu.ts

export interface StackCpu extends CpuUsage {
  /** The partner simulators (which `cpu.ts` counts as "other"), in cores. */
  partners: number;
  /** Busy CPU that no process still running explains, in cores. */
  unaccounted: number;
}

/** CPU ticks of the waited-for children of `pid` (cutime + cstime, fields 16 and 17 of stat). */
function reapedTicks(pid: string): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[13]) + Number(fields[14]);
}

/** CPU seconds used so far by the children this process has waited for (and theirs). */
export function childSeconds(): number {
  return reapedTicks('self') / ticksPerSecond;
}

export interface StackSnapshot {
  cpu: CpuSnapshot | undefined;
  /** By `pid:start` of each Postgres postmaster: CPU ticks of its backends that have ended. */
  postmasters: Map<string, number>;
  /** By `pid:start` of each Postgres backend: its postmaster's pid. */
  backends: Map<string, string>;
}

/**
 * `cpuSnapshot`, plus what Postgres backends that have ended used: a client that connects
 * anew (an import) is served by backends that start and end within the measurement.
 */
export function stackSnapshot(): StackSnapshot {
  const cpu = cpuSnapshot();
  const postmasters = new Map<string, number>();
  const backends = new Map<string, string>();
  for (const [key, { group }] of cpu?.groups ?? []) {
    if (group !== 'postgres') continue;
    const pid = key.split(':')[0]!;
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('/bin/postgres\0'))
        postmasters.set(key, reapedTicks(pid));
      else backends.set(key, parentOf(pid));
    } catch {
      // Ended meanwhile.
    }
  }
  return { cpu, postmasters, backends };
}

function parentOf(pid: string): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]!;
}

/** pid -> [parent pid, command line] of every process now running. */
function processes(): Map<string, [string, string]> {
  const found = new Map<string, [string, string]>();
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      found.set(pid, [parentOf(pid), cmdline]);
    } catch {
      // Ended meanwhile.
    }
  }
  return found;
}

/**
 * `cpuBetween`, counting as api, worker, temporal, postgres and partners only the processes of
 * `npm start` (descendants of `stack/bootstrap.js start`): a test suite's own Temporal, worker
 * and Postgres on the same machine count as "other". Postgres includes its backends that ended
 * meanwhile. `unaccounted` is busy CPU no process explains (processes that started and ended
 * meanwhile, such as a compiler run, less the `children` this process waited for).
 */
export function stackCpu(
  { cpu: before, postmasters: reapedBefore, backends }: StackSnapshot,
  { cpu: after, postmasters: reapedAfter }: StackSnapshot,
  seconds: number,
  /** Cores used meanwhile by children this process waited for (from `childSeconds`). */
  children = 0,
): StackCpu | undefined {
  const usage = cpuBetween(before, after, seconds);
  if (!usage || !before || !after) return undefined;
  const procs = processes();
  const inStack = (pid: string): boolean => {
    for (let p = pid, hops = 0; p !== '0' && p !== '1' && hops < 50; hops++) {
      const found = procs.get(p);
      if (!found) return false;
      if (found[1].includes('stack/bootstrap.js start')) return true;
      p = found[0];
    }
    return false;
  };
  const cores: CpuUsage['cores'] = { ...usage.cores, api: 0, worker: 0, temporal: 0, postgres: 0 };
  let partners = 0;
  for (const [key, { group, ticks }] of after.groups) {
    if (group === 'bench' || group === 'other') continue; // as cpuBetween counted them
    const used = (ticks - (before.groups.get(key)?.ticks ?? 0)) / ticksPerSecond / seconds;
    const pid = key.split(':')[0]!;
    if (!inStack(pid)) cores.other += used;
    else cores[group] += used;
  }
  for (const [key, { group, ticks }] of after.groups) {
    const pid = key.split(':')[0]!;
    if (group !== 'other' || !procs.get(pid)?.[1].includes('partners/main') || !inStack(pid))
      continue;
    const used = (ticks - (before.groups.get(key)?.ticks ?? 0)) / ticksPerSecond / seconds;
    partners += used;
    cores.other -= used;
  }
  // A backend that ended meanwhile is reaped with its whole life's CPU: take off what it had
  // used before the window.
  const usedBefore = new Map<string, number>();
  for (const [key, postmaster] of backends) {
    if (after.groups.has(key)) continue;
    const ticks = before.groups.get(key)?.ticks ?? 0;
    usedBefore.set(postmaster, (usedBefore.get(postmaster) ?? 0) + ticks);
  }
  for (const [key, ticks] of reapedAfter) {
    const reaped =
      ticks - (reapedBefore.get(key) ?? ticks) - (usedBefore.get(key.split(':')[0]!) ?? 0);
    const used = Math.max(0, reaped) / ticksPerSecond / seconds;
    if (inStack(key.split(':')[0]!)) cores.postgres += used;
    else cores.other += used;
  }
  const counted = Object.values(cores).reduce((a, b) => a + b, 0) + partners;
  const unaccounted = Math.max(0, usage.machine * os.cpus().length - counted - children);
  return { machine: usage.machine, cores, partners, unaccounted };
}
