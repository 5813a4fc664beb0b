/**
 * `npm run import -- members|grants <file.csv>`: bulk import from CSV, safe to run again. The work
 * is in `cli/import/`; this file reads the arguments and maps the outcome to an exit status.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../config';
import { createDb } from '../infra/db';
import { createTemporalClient } from '../infra/temporal';
import { HeaderError, openCsv } from './import/csv';
import { grantColumns, importGrants } from './import/grants';
import { importMembers, memberColumns } from './import/members';
import { newTally, startProgress, summary } from './import/report';

const usage = `usage: npm run import -- members <file.csv> [--no-workflows]
       npm run import -- grants <file.csv>`;

const help = `${usage}

Imports members, or point grants, from a CSV file with a header row. Safe to run again: a
second run imports nothing twice. Bad rows are reported and the rest is imported.

members   Columns externalId (required), email, name, checked like POST /members. A member
          already enrolled with the same details is counted as already present; with other
          details the row is rejected (the member is not changed). The lifecycle workflow
          member:<id> of each new member is started, 16 at a time; so is that of a member
          already present whose lifecycle never ran (an earlier run with --no-workflows).
  --no-workflows
          Do not start workflows. A member's first event starts its workflow anyway, and so
          does a later run of the same file without this flag.

grants    Columns grantId, externalId, points, reason. Each row credits the member with points
          (a positive adjustment, in a lot expiring by program policy), once per grantId: a
          grantId already used for the same grant is already present, for another grant the
          row is rejected, as is a grant to an unknown or closed member. Grants are written
          2,000 per transaction, in file order.

Progress goes to stderr; the summary and each rejected row ('line N: field: why') to stdout.

Exit status:
  0   every row imported or already present
  65  some rows rejected (the others were imported), or the header row is wrong
  75  members imported, but Temporal could not start some workflows: run again later
  64  bad usage;  66  the file cannot be read;  78  bad configuration
  1   anything else, such as the database going away; what was done stays done: run again

Settings (environment, see the README): DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_TASK_QUEUE.
`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\nnpm run import -- --help for more.\n`);
  process.exit(64); // EX_USAGE
}

function parse() {
  try {
    const { values, positionals } = parseArgs({
      options: { help: { type: 'boolean', short: 'h' }, 'no-workflows': { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      process.stdout.write(help);
      process.exit(0);
    }
    const [kind, file, ...rest] = positionals;
    if (kind !== 'members' && kind !== 'grants') {
      fail(
        kind ? `expected members or grants; got '${kind}'` : 'what to import: members or grants?',
      );
    }
    if (!file) fail(`the CSV file to import is missing`);
    if (rest.length) fail(`unexpected argument '${rest[0]}'`);
    const workflows = !values['no-workflows'];
    if (!workflows && kind === 'grants') fail('--no-workflows applies to members only');
    return { kind, file, workflows };
  } catch (err) {
    fail((err as Error).message);
  }
}

/** The file's size, or exit 66 when it cannot be read. */
function readableSize(file: string): number {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw new Error('not a file');
    fs.accessSync(file, fs.constants.R_OK);
    return stat.size;
  } catch (err) {
    process.stderr.write(`cannot read ${file}: ${(err as Error).message}\n`);
    process.exit(66); // EX_NOINPUT
  }
}

async function main(): Promise<number> {
  const { kind, file, workflows } = parse();
  const size = readableSize(file);
  const config = loadConfigOrExit();
  const db = createDb({ url: config.DATABASE_URL, poolMax: 2 });
  const temporal = kind === 'members' && workflows ? createTemporalClient(config) : null;
  const tally = newTally();
  const csv = openCsv(file, kind === 'members' ? memberColumns : grantColumns);
  const progress = startProgress(kind, size, tally);
  const tick = () => progress.update(csv.bytesRead());
  const started = performance.now();
  let failure: unknown;
  try {
    if (kind === 'members') await importMembers({ db, config, temporal }, csv, tally, tick);
    else await importGrants({ db, actor: `import:${path.basename(file)}` }, csv, tally, tick);
  } catch (err) {
    failure = err;
  } finally {
    progress.stop();
    await db.destroy();
    await temporal?.connection.close();
  }
  if (failure instanceof HeaderError) {
    process.stderr.write(`${file}: ${failure.message}\n`);
    return 65; // EX_DATAERR
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${summary(`${kind} from ${file}`, tally, seconds)}\n`);
  if (failure) {
    process.stderr.write(`import stopped: ${(failure as Error).message}\n`);
    return 1;
  }
  if (tally.workflows?.notStarted) {
    process.stderr.write(`Temporal did not start some workflows: ${tally.workflows.error}\n`);
  }
  if (tally.rejected) return 65; // EX_DATAERR
  return tally.workflows?.notStarted ? 75 : 0; // EX_TEMPFAIL
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`import failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
