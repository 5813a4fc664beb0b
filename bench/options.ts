/** Command-line pieces shared by the redemption and import benches. */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, loadStackConfig } from '../config';
import type { JsonResponse } from './http';

/** `value` as a number above 0 (or 0 too, with `orZero`), else an error naming `--name`. */
export function positive(name: string, value: string | undefined, orZero = false): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n < 0 || (n === 0 && !orZero))
    throw new Error(`--${name} must be a ${orZero ? 'non-negative' : 'positive'} number`);
  return n;
}

/** The admin key: `--key`, else $LOYALTY_API_KEY, else the one `npm start` keeps. */
export function apiKey(given: string | undefined): string {
  if (given) return given;
  if (process.env.LOYALTY_API_KEY) return process.env.LOYALTY_API_KEY;
  const file = path.resolve(__dirname, '..', loadStackConfig().LOYALTY_DATA_DIR, 'local-admin-key');
  if (!fs.existsSync(file)) throw new Error(`no --key, no LOYALTY_API_KEY and no ${file}`);
  return fs.readFileSync(file, 'utf8').trim();
}

/** Throws the problem's title and detail unless the status is one of `wanted`. */
export function expectStatus(res: JsonResponse, ...wanted: number[]): void {
  if (wanted.includes(res.status)) return;
  const problem = res.body as { title?: string; detail?: string } | undefined;
  throw new Error(`HTTP ${res.status} ${problem?.title ?? ''}: ${problem?.detail ?? ''}`.trim());
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** 1234567 as "1,234,567". */
export const count = (n: number): string => n.toLocaleString('en-US');

/**
 * The database as the services of `npm start` reach it: DATABASE_URL when it is set; else the
 * embedded Postgres (on EMBEDDED_POSTGRES_PORT), through its Unix socket when it has one, so a
 * baseline connects the way the API does.
 */
export function stackDatabaseUrl(): { url: string; via: string } {
  const given = loadConfig().DATABASE_URL;
  if (process.env.DATABASE_URL) return { url: given, via: 'DATABASE_URL' };
  const stack = loadStackConfig();
  const url = new URL(given);
  url.port = String(stack.EMBEDDED_POSTGRES_PORT);
  const dir = path.resolve(__dirname, '..', stack.LOYALTY_DATA_DIR, 'postgres', 'socket');
  if (!fs.existsSync(path.join(dir, `.s.PGSQL.${url.port}`)))
    return { url: url.toString(), via: `TCP, port ${url.port}` };
  url.searchParams.set('host', dir);
  return { url: url.toString(), via: `the Unix socket in ${dir}` };
}
