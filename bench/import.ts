/**
 * `npm run bench:import`: how fast `npm run import` loads members and point grants, against the
 * database of a running stack (`npm start`).
 *
 *   1. writes CSV files of --rows members (externalId,email,name) and one grant per member
 *      (grantId,externalId,points,reason) into a temporary folder;
 *   2. times `npm run import -- members <file> --no-workflows`, then `... grants <file>`;
 *   3. runs both again: a second run must import nothing (every row already present);
 *   4. times importing --workflow-rows other members WITH their lifecycle workflows, and how long
 *      the worker then takes to run their first reviews, and extrapolates both to --rows.
 *
 * The import is a child process (`npm run import`, as a user runs it); its CPU is read from this
 * process's waited-for children, the stack's from /proc. The members and grants stay in the
 * database: run it on a throwaway stack (LOYALTY_DATA_DIR).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { count, positive } from './options';
import { waitForLifecycles } from './settle';
import { childSeconds, stackCpu, stackSnapshot, type StackCpu } from './stack-cpu';

const usage = `Usage: npm run bench:import -- [options]
  --rows N              members in the big file, and grants: one per member (default 1000000)
  --workflow-rows N     members imported with their lifecycle workflows (default 10000; 0: skip)
  --dir DIR             where the CSV files go (default: a new folder in ${os.tmpdir()})
  --keep                keep the CSV files afterwards
Reads DATABASE_URL (default: the embedded Postgres of \`npm start\`) and TEMPORAL_ADDRESS, as
\`npm run import\` does. The imported members and grants stay: use a throwaway stack.`;

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    'workflow-rows': { type: 'string', default: '10000' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

const root = path.resolve(__dirname, '..');
const runId = `i${Date.now().toString(36)}`;

/** Writes `rows` lines made by `line(i)` after `header`, with backpressure. */
async function writeCsv(
  file: string,
  header: string,
  rows: number,
  line: (i: number) => string,
): Promise<number> {
  const out = fs.createWriteStream(file);
  const write = (chunk: string): Promise<void> =>
    out.write(chunk) ? Promise.resolve() : new Promise((resolve) => out.once('drain', resolve));
  await write(`${header}\n`);
  for (let start = 0; start < rows; start += 10_000) {
    let chunk = '';
    for (let i = start; i < Math.min(rows, start + 10_000); i++) chunk += `${line(i)}\n`;
    await write(chunk);
  }
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.end(resolve);
  });
  return fs.statSync(file).size;
}

interface Step {
  name: string;
  seconds: number;
  exit: number | null;
  summary: string;
  importCores: number;
  cpu: StackCpu | undefined;
}

/** Runs `npm run import -- <args>` and times it; the summary is what it printed on stdout. */
async function runImport(name: string, importArgs: string[]): Promise<Step> {
  console.log(`\n${name}: npm run import -- ${importArgs.join(' ')}`);
  const cpuBefore = stackSnapshot();
  const childrenBefore = childSeconds();
  const started = performance.now();
  const child = spawn('npm', ['run', '--silent', 'import', '--', ...importArgs], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let summary = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (summary += chunk));
  const exit = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const seconds = (performance.now() - started) / 1000;
  const importCores = (childSeconds() - childrenBefore) / seconds;
  const cpu = stackCpu(cpuBefore, stackSnapshot(), seconds, importCores);
  const lines = summary.trim().split('\n');
  console.log(lines.map((l) => `  | ${l}`).join('\n'));
  console.log(
    `  exit ${exit}, ${seconds.toFixed(1)} s wall${cpu ? `; CPU ${cpuLine(importCores, cpu)}` : ''}`,
  );
  return { name, seconds, exit, summary, importCores, cpu };
}

function cpuLine(importCores: number, cpu: StackCpu): string {
  const c = cpu.cores;
  return `import ${importCores.toFixed(2)}, postgres ${c.postgres.toFixed(2)}, temporal ${c.temporal.toFixed(2)}, worker ${c.worker.toFixed(2)}, api ${c.api.toFixed(2)}, other ${(c.other + cpu.unaccounted).toFixed(2)} cores`;
}

/** The import's own time ("time: 11.3s"), without Node and tsx start-up; else the wall time. */
function importSeconds(step: Step): number {
  const match = /^\s*time:\s+([\d.]+)s/m.exec(step.summary);
  return match ? Number(match[1]) : step.seconds;
}

/** "imported: 1,000,000" from the import's summary. */
function figure(step: Step, label: string): number {
  const match = new RegExp(`^\\s*${label}:\\s+([\\d,]+)`, 'm').exec(step.summary);
  return match ? Number(match[1]!.replaceAll(',', '')) : NaN;
}

const duration = (seconds: number): string =>
  seconds < 120
    ? `${seconds.toFixed(0)} s`
    : seconds < 7200
      ? `${(seconds / 60).toFixed(1)} min`
      : `${(seconds / 3600).toFixed(1)} h`;

async function main(): Promise<void> {
  if (args.help) return console.log(usage);
  const rows = positive('rows', args.rows);
  const workflowRows = positive('workflow-rows', args['workflow-rows'], true);
  const config = loadConfig();
  const dir = args.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bench-import-'));
  fs.mkdirSync(dir, { recursive: true });
  console.log(
    `bench:import run ${runId}: ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, node ${process.version}; files in ${dir}`,
  );

  const started = performance.now();
  const membersFile = path.join(dir, `members-${runId}.csv`);
  const grantsFile = path.join(dir, `grants-${runId}.csv`);
  const flowsFile = path.join(dir, `members-workflows-${runId}.csv`);
  const member = (i: number) => `${runId}-${i}`;
  const sizes = [
    await writeCsv(membersFile, 'externalId,email,name', rows, (i) => {
      return `${member(i)},m${i}@example.com,Member ${i}`;
    }),
    await writeCsv(grantsFile, 'grantId,externalId,points,reason', rows, (i) => {
      return `g-${member(i)},${member(i)},${100 + (i % 900)},bench import`;
    }),
    await writeCsv(flowsFile, 'externalId,email,name', workflowRows, (i) => {
      return `${runId}-wf-${i},w${i}@example.com,Workflow member ${i}`;
    }),
  ];
  console.log(
    `wrote ${count(rows)} members (${(sizes[0]! / 1e6).toFixed(0)} MB), ${count(rows)} grants (${(sizes[1]! / 1e6).toFixed(0)} MB) and ${count(workflowRows)} members for the workflow run in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  const steps = [
    await runImport('members, first run', ['members', membersFile, '--no-workflows']),
    await runImport('grants, first run', ['grants', grantsFile]),
    await runImport('members, second run', ['members', membersFile, '--no-workflows']),
    await runImport('grants, second run', ['grants', grantsFile]),
  ];
  let flows: { step: Step; settle: { seconds: number; waiting: number } } | undefined;
  if (workflowRows > 0) {
    const step = await runImport('members with workflows', ['members', flowsFile]);
    console.log('waiting for their lifecycle workflows to run their first review...');
    const settle = await waitForLifecycles(config.DATABASE_URL, `${runId}-wf-`, 3_600_000);
    flows = { step, settle };
  }
  if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });

  console.log(
    '\nstep                          rows  imported   present  rejected     wall   import      rows/s  exit',
  );
  for (const step of [...steps, ...(flows ? [flows.step] : [])]) {
    const read = figure(step, 'rows read');
    console.log(
      `${step.name.padEnd(24)} ${count(read).padStart(10)} ${count(figure(step, 'imported')).padStart(9)} ${count(figure(step, 'already present')).padStart(9)} ${count(figure(step, 'rejected')).padStart(9)} ${`${step.seconds.toFixed(1)} s`.padStart(8)} ${`${importSeconds(step).toFixed(1)} s`.padStart(8)} ${count(Math.round(read / importSeconds(step))).padStart(11)} ${String(step.exit).padStart(5)}`,
    );
  }
  console.log(
    '(wall: the whole `npm run import`, npm, Node and tsx start-up included; import: the time it reports; rows/s over that)',
  );

  const [members, grants, membersAgain, grantsAgain] = steps as [Step, Step, Step, Step];
  const again = [membersAgain, grantsAgain].every(
    (s) => figure(s, 'imported') === 0 && figure(s, 'already present') === rows && s.exit === 0,
  );
  const million = 1_000_000;
  const perMillion = (s: Step) => duration((importSeconds(s) * million) / rows);
  console.log('\nresults:');
  console.log(
    `  ${members.exit === 0 && grants.exit === 0 ? 'ok ' : 'BAD'}  first run: ${count(figure(members, 'imported'))} members in ${duration(members.seconds)}, ${count(figure(grants, 'imported'))} grants in ${duration(grants.seconds)}` +
      (rows === million
        ? ''
        : ` (a million: about ${perMillion(members)} + ${perMillion(grants)})`),
  );
  console.log(
    `  ${again ? 'ok ' : 'BAD'}  second run imports nothing: members ${duration(membersAgain.seconds)}, grants ${duration(grantsAgain.seconds)}, every row already present`,
  );
  if (flows) {
    const begun = figure(flows.step, 'workflows started');
    const startRate = begun / importSeconds(flows.step);
    // From the start of the import: the reviews run while the import is still starting others.
    const reviewed = workflowRows - flows.settle.waiting;
    const reviewRate = reviewed / (flows.step.seconds + flows.settle.seconds);
    console.log(
      `  ${flows.step.exit === 0 && begun === workflowRows ? 'ok ' : 'BAD'}  ${count(begun)} lifecycle workflows started in ${duration(flows.step.seconds)} (${startRate.toFixed(0)}/s, inserts included); all first reviews done ${duration(flows.settle.seconds)} after the import ended (${reviewRate.toFixed(0)}/s from its start)${flows.settle.waiting ? `, ${count(flows.settle.waiting)} still waiting` : ''}`,
    );
    console.log(
      `       scaled linearly to ${count(million)} members with workflows: ${duration(million / startRate)} to import and start them, ${duration(million / reviewRate)} until every first review has run`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(`bench:import could not run: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
