/**
 * The model alone over a generated programme, timed:
 * `npx tsx test/model/simulate-model.ts --members 1000 --years 3 --seed 42`.
 * Prints the seed, the size, the wall time and a few totals, so a run can be replayed.
 */
import { parseArgs } from 'node:util';
import { generateProgramme } from './generate';
import { runProgramme } from './runner';
import { monthEnds } from './time';

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '1000' },
    years: { type: 'string', default: '3' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
  },
});
const options = {
  members: Number(values.members),
  years: Number(values.years),
  seed: Number(values.seed),
};
const began = performance.now();
const programme = generateProgramme(options);
const generated = performance.now();
const results = runProgramme(
  programme.versions,
  programme.members,
  monthEnds(programme.start, programme.end),
);
const done = performance.now();

const count = (kind: string): number =>
  results.reduce((n, r) => n + r.happenings.filter((h) => h.kind === kind).length, 0);
const events = programme.members.reduce((n, m) => n + m.events.length, 0);
const refused = results.reduce((n, r) => n + r.outcomes.filter((o) => o.refused).length, 0);
process.stdout.write(
  [
    `seed ${options.seed}: ${options.members} members x ${options.years} years, ${events} events (${refused} refused)`,
    `generated in ${(generated - began).toFixed(0)} ms, modelled in ${(done - generated).toFixed(0)} ms`,
    `expiries ${count('expiry')}, reminders ${count('reminder')}, tier ups ${count('tier_up')}, downs ${count('tier_down')}, dormant ${count('dormant')}, closed ${count('closed')}`,
    '',
  ].join('\n'),
);
