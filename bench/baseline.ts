/**
 * The bare Postgres baseline: per event, one transaction that appends an entry and moves a
 * balance (BEGIN; INSERT; UPDATE balance = balance + n; COMMIT), straight over `pg`, on the app's
 * database, in tables of its own that are dropped afterwards.
 */
import pg from 'pg';
import { runLoad, type LoadResult } from './load';

export interface BaselineOptions {
  databaseUrl: string;
  runId: string;
  clients: number;
  members: number;
  poolSize: number;
  durationMs: number;
}

export interface BaselineResult {
  load: LoadResult;
  /** The balances add up to the entries (no lost update). */
  consistent: boolean;
  detail: string;
}

export async function runBaseline(options: BaselineOptions): Promise<BaselineResult> {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize });
  const entries = `bench_entries_${options.runId}`;
  const balances = `bench_balances_${options.runId}`;
  try {
    await pool.query(
      `CREATE TABLE ${entries} (id bigserial PRIMARY KEY, member_id int NOT NULL, amount int NOT NULL,
         event_id text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now());
       CREATE TABLE ${balances} (member_id int PRIMARY KEY, balance bigint NOT NULL DEFAULT 0);
       INSERT INTO ${balances} (member_id) SELECT generate_series(0, ${options.members - 1});`,
    );
    // Open the pool's connections before the clock starts, as the API's are after its warm-up.
    await Promise.all(Array.from({ length: options.poolSize }, () => pool.query('SELECT 1')));

    const load = await runLoad(
      'bare Postgres',
      options.clients,
      options.durationMs,
      async (client, seq) => {
        const member = Math.floor(Math.random() * options.members);
        const amount = 1 + Math.floor(Math.random() * 100);
        const conn = await pool.connect();
        try {
          await conn.query('BEGIN');
          await conn.query(
            `INSERT INTO ${entries} (member_id, amount, event_id) VALUES ($1, $2, $3)`,
            [member, amount, `${client}-${seq}`],
          );
          await conn.query(`UPDATE ${balances} SET balance = balance + $1 WHERE member_id = $2`, [
            amount,
            member,
          ]);
          await conn.query('COMMIT');
          return true;
        } catch (err) {
          await conn.query('ROLLBACK').catch(() => undefined);
          throw err;
        } finally {
          conn.release();
        }
      },
    );

    const { rows } = await pool.query<{ entries: string; balances: string; n: string }>(
      `SELECT (SELECT coalesce(sum(amount), 0) FROM ${entries}) AS entries,
              (SELECT count(*) FROM ${entries}) AS n,
              (SELECT sum(balance) FROM ${balances}) AS balances`,
    );
    const sums = rows[0]!;
    const consistent = Number(sums.entries) === Number(sums.balances) && Number(sums.n) === load.ok;
    return {
      load,
      consistent,
      detail: `${sums.n} entries (${load.ok} committed), entries sum ${sums.entries}, balances sum ${sums.balances}`,
    };
  } finally {
    await pool.query(`DROP TABLE IF EXISTS ${entries}, ${balances}`).catch(() => undefined);
    await pool.end();
  }
}
