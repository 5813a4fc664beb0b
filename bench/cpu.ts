/**
 * Where the machine's CPU went during a phase, from /proc (Linux; elsewhere nothing is reported):
 * all cores busy, and CPU time by process group: the API, the worker, Temporal, Postgres (every
 * cluster on the machine), this bench, and everything else ("other" shows a disturbed run).
 */
import fs from 'node:fs';

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

function groupOf(pid: string, cmdline: string): CpuGroup {
  if (pid === String(process.pid)) return 'bench';
  if (cmdline.includes('api/server.ts') || cmdline.includes('api/server.js')) return 'api';
  if (cmdline.includes('workers/main.ts') || cmdline.includes('workers/main.js')) return 'worker';
  if (cmdline.includes('temporal server start-dev')) return 'temporal';
  if (cmdline.startsWith('postgres:') || cmdline.includes('/bin/postgres ')) return 'postgres';
  return 'other';
}

export function cpuSnapshot(): CpuSnapshot | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    const groups = new Map<string, { group: CpuGroup; ticks: number }>();
    for (const pid of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        // utime + stime, fields 14 and 15 of stat (11 and 12 after the command name).
        const used = Number(fields[11]) + Number(fields[12]);
        groups.set(`${pid}:${fields[19]}`, { group: groupOf(pid, cmdline), ticks: used });
      } catch {
        // The process ended meanwhile.
      }
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
