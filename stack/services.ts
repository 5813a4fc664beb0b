/**
 * Starts the services the app needs, under the supervisor: Temporal, Postgres and the local
 * partner simulators.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { AppConfig } from '../config';
import { searchAttributes } from '../workflows/shared';
import { isPortFree, waitFor } from './ports';
import type { Supervisor } from './supervisor';

export interface TemporalOptions {
  cli: string;
  port: number;
  /** Omit for a headless server (tests). */
  uiPort?: number;
  /** The UI's remote codec (`<api>/codec`): it shows encrypted payloads decrypted. */
  uiCodecEndpoint?: string;
  /** Omit for an in-memory server. */
  dbFile?: string;
  namespace: string;
  output: 'show' | 'on-failure';
  /** More `--dynamic-config-value key=value` settings for the dev server. */
  dynamicConfig?: Record<string, string | number>;
}

export async function assertPortsFree(ports: Record<string, number>): Promise<void> {
  for (const [key, port] of Object.entries(ports)) {
    if (!(await isPortFree(port))) {
      throw new Error(
        `port ${port} is already in use (${key}). Stop what uses it, or set ${key} to another port.`,
      );
    }
  }
}

export async function startTemporal(
  supervisor: Supervisor,
  options: TemporalOptions,
): Promise<string> {
  const address = `127.0.0.1:${options.port}`;
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port)];
  args.push(...(options.uiPort ? ['--ui-port', String(options.uiPort)] : ['--headless']));
  if (options.uiPort && options.uiCodecEndpoint)
    args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  // The dev server's SQLite in WAL mode, and its transfer queue read without the default 20
  // loads a second: twice the redemption throughput and 2.5x less latency (BENCHMARKS.md).
  args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  args.push('--dynamic-config-value', 'history.transferProcessorMaxPollRPS=1000');
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {}))
    args.push('--dynamic-config-value', `${key}=${value}`);
  if (options.namespace !== 'default') args.push('--namespace', options.namespace);
  for (const key of Object.values(searchAttributes)) {
    args.push('--search-attribute', `${key.name}=${searchAttributeTypeName(key.type)}`);
  }
  args.push('--log-level', 'error');
  await supervisor.start({
    name: 'temporal',
    command: options.cli,
    args,
    output: options.output,
    stopSignal: 'SIGINT',
  });
  await waitFor('the Temporal server', async () => {
    const connection = await Connection.connect({ address, connectTimeout: 1000 });
    try {
      await connection.workflowService.describeNamespace({ namespace: options.namespace });
      return true;
    } finally {
      await connection.close();
    }
  });
  if (options.uiPort) {
    const ui = `http://127.0.0.1:${options.uiPort}/`;
    await waitFor('the Temporal UI', async () => (await fetch(ui)).ok);
  }
  return address;
}

function searchAttributeTypeName(type: string): string {
  // `KEYWORD` -> `Keyword`, `KEYWORD_LIST` -> `KeywordList`, as the CLI spells them.
  return type
    .toLowerCase()
    .split('_')
    .map((word) => word[0]?.toUpperCase() + word.slice(1))
    .join('');
}

export interface PostgresOptions {
  root: string;
  port: number;
  password: string;
  database: string;
  /** Durability off for throwaway test clusters. */
  fast?: boolean;
  /**
   * Also listen on a Unix socket in `<root>/socket`, and answer a URL that connects through it
   * (TCP on 127.0.0.1 stays open). A round trip over a local socket costs the API and Postgres
   * less CPU than one over loopback TCP. Ignored where the socket's path would be too long.
   */
  socket?: boolean;
  output: 'show' | 'on-failure';
}

/** Runs embedded Postgres in its own process (stack/postgres-server.mjs); returns its URL. */
export async function startEmbeddedPostgres(
  supervisor: Supervisor,
  options: PostgresOptions,
): Promise<string> {
  fs.mkdirSync(options.root, { recursive: true });
  const socketDir = path.join(options.root, 'socket');
  // Unix socket paths are limited to 107 bytes; Postgres names its socket `.s.PGSQL.<port>`.
  const socket = options.socket && Buffer.byteLength(socketDir) + 16 <= 100;
  const flags = options.fast
    ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
    : [];
  await supervisor.start({
    name: 'postgres',
    command: process.execPath,
    args: [path.join(__dirname, 'postgres-server.mjs')],
    env: {
      ...process.env,
      PG_ROOT: options.root,
      PG_PORT: String(options.port),
      PG_PASSWORD: options.password,
      PG_DATABASE: options.database,
      PG_FLAGS: JSON.stringify(flags),
      PG_SOCKET_DIR: socket ? socketDir : '',
    },
    output: options.output,
    readyLine: /^ready: postgres/,
    stopTimeoutMs: 30_000,
  });
  const url = `postgres://postgres:${encodeURIComponent(options.password)}@127.0.0.1:${options.port}/${options.database}`;
  return socket ? `${url}?host=${encodeURIComponent(socketDir)}` : url;
}

export interface PartnerSimulatorOptions {
  /** Port of each simulator to run; unset for one a real partner replaces. */
  warehousePort?: number;
  giftCardPort?: number;
  /** Signs the warehouse's callbacks. */
  webhookSecret?: string;
  /** Signs the gift-card provider's status callbacks. */
  giftCardSecret?: string;
  /** The warehouse journals its shipments here, so a restart keeps them. */
  warehouseStateFile?: string;
  logLevel: string;
}

/**
 * Runs partners/main.ts (the warehouse and gift-card simulators, on 127.0.0.1) and resolves once
 * the ones wanted answer. partners/main.ts always runs both: one a real partner replaces listens
 * on a free port nobody is told about.
 */
export async function startPartnerSimulators(
  supervisor: Supervisor,
  options: PartnerSimulatorOptions,
): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WAREHOUSE_PORT: String(options.warehousePort ?? 0),
    GIFTCARD_PORT: String(options.giftCardPort ?? 0),
    PARTNERS_HOST: '127.0.0.1',
    LOG_LEVEL: options.logLevel,
  };
  if (options.warehouseStateFile) env.WAREHOUSE_STATE_FILE = options.warehouseStateFile;
  if (options.webhookSecret) env.WAREHOUSE_WEBHOOK_SECRET = options.webhookSecret;
  else delete env.WAREHOUSE_WEBHOOK_SECRET;
  if (options.giftCardSecret) env.GIFTCARD_WEBHOOK_SECRET = options.giftCardSecret;
  else delete env.GIFTCARD_WEBHOOK_SECRET;
  await supervisor.start({
    name: 'partners',
    command: process.execPath,
    args: ['--import', 'tsx', path.join(__dirname, '..', 'partners', 'main.ts')],
    env,
    cwd: path.join(__dirname, '..'),
  });
  const answers = async (url: string): Promise<boolean> => (await fetch(url)).ok;
  if (options.warehousePort) {
    const url = `http://127.0.0.1:${options.warehousePort}/shipments`;
    await waitFor('the warehouse simulator', () => answers(url));
  }
  if (options.giftCardPort) {
    const url = `http://127.0.0.1:${options.giftCardPort}/float`;
    await waitFor('the gift-card simulator', () => answers(url));
  }
}

/** Ready means polling: the worker bundles its workflows first, which takes a few seconds. */
export async function waitForPoller(
  config: Pick<AppConfig, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_TASK_QUEUE'>,
): Promise<void> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const since = Date.now() - 1000; // pollers of an earlier run stay listed for a while
  try {
    await waitFor(
      'the worker to poll its task queue',
      async () => {
        const { pollers } = await connection.workflowService.describeTaskQueue({
          namespace: config.TEMPORAL_NAMESPACE,
          taskQueue: { name: config.TEMPORAL_TASK_QUEUE },
          taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        });
        return pollers.some((p) => Number(p.lastAccessTime?.seconds ?? 0) * 1000 >= since);
      },
      120_000,
    );
  } finally {
    await connection.close();
  }
}
