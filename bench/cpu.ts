/**
 * Where the machine's CPU went during a phase, from /proc (Linux; elsewhere nothing is reported):
 * all cores busy, and CPU time by process group: the API (or the HTTP floor's server standing in
 * for it), the worker, Temporal, Postgres, this bench, and everything else ("other" shows a
 * disturbed run). Only this checkout's stack counts as API, worker, Temporal and Postgres (their
 * command lines name its folder or its data folder, or their parent does): other stacks and test
 * runs on a shared machine are "other". Without such a process (a Postgres elsewhere), every
 * process of that kind counts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadStackConfig } from '../config';

export type CpuGroup = 'api' | 'worker' | 'temporal' | 'postgres' | 'bench' | 'other';

export interface CpuSnapshot {
  busy: number;
  total: number;
  groups: Map<string, { group: CpuGroup; ticks: number }>;
}

export interface CpuUsage {
  /** Share of all cores busy (0..1). */
  machine: number;
  /** Cores used by each group (1 = one core flat out). */
  cores: Record<CpuGroup, number>;
}

const ticksPerSecond = 100; // USER_HZ, 100 on every Linux architecture Node runs on

const root = path.resolve(__dirname, '..');
const dataDir = path.resolve(root, loadStackConfig().LOYALTY_DATA_DIR);

interface Proc {
  ppid: string;
  cmdline: string;
  ticks: number;
  key: string;
}

function kindOf(cmdline: string): CpuGroup {
  if (cmdline.includes('api/server.ts') || cmdline.includes('api/server.js')) return 'api';
  if (cmdline.includes('bench/http-floor.ts') && cmdline.includes('--serve')) return 'api';
  if (cmdline.includes('workers/main.ts') || cmdline.includes('workers/main.js')) return 'worker';
  if (cmdline.includes('temporal server start-dev')) return 'temporal';
  if (cmdline.startsWith('postgres:') || cmdline.includes('/bin/postgres ')) return 'postgres';
  return 'other';
}

/** Each process's group: of this stack (its folder or data folder, itself or its parent), or other. */
function classify(procs: Map<string, Proc>): Map<string, CpuGroup> {
  const ours = (pid: string): boolean => {
    const proc = procs.get(pid);
    if (!proc) return false;
    const mine = (cmdline: string) => cmdline.includes(root) || cmdline.includes(dataDir);
    return mine(proc.cmdline) || mine(procs.get(proc.ppid)?.cmdline ?? '');
  };
  const kinds = new Map([...procs].map(([pid, proc]) => [pid, kindOf(proc.cmdline)]));
  const found = new Set<CpuGroup>();
  for (const [pid, kind] of kinds) if (kind !== 'other' && ours(pid)) found.add(kind);
  const groups = new Map<string, CpuGroup>();
  for (const [pid, kind] of kinds) {
    if (pid === String(process.pid)) groups.set(pid, 'bench');
    else groups.set(pid, kind !== 'other' && (ours(pid) || !found.has(kind)) ? kind : 'other');
  }
  return groups;
}

export function cpuSnapshot(): CpuSnapshot | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    const procs = new Map<string, Proc>();
    for (const pid of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        // utime + stime, fields 14 and 15 of stat (11 and 12 after the command name).
        const used = Number(fields[11]) + Number(fields[12]);
        procs.set(pid, { ppid: fields[1]!, cmdline, ticks: used, key: `${pid}:${fields[19]}` });
      } catch {
        // The process ended meanwhile.
      }
    }
    const groups = new Map<string, { group: CpuGroup; ticks: number }>();
    for (const [pid, group] of classify(procs)) {
      const { key, ticks: used } = procs.get(pid)!;
      groups.set(key, { group, ticks: used });
    }
    return { busy: total - ticks[3]! - ticks[4]!, total, groups };
  } catch {
    return undefined;
  }
}

export function cpuBetween(
  before: CpuSnapshot | undefined,
  after: CpuSnapshot | undefined,
  seconds: number,
): CpuUsage | undefined {
  if (!before || !after) return undefined;
  const cores: Record<CpuGroup, number> = {
    api: 0,
    worker: 0,
    temporal: 0,
    postgres: 0,
    bench: 0,
    other: 0,
  };
  for (const [key, { group, ticks }] of after.groups) {
    // Processes that started during the phase count from zero.
    cores[group] += (ticks - (before.groups.get(key)?.ticks ?? 0)) / ticksPerSecond / seconds;
  }
  return { machine: (after.busy - before.busy) / (after.total - before.total), cores };
}
