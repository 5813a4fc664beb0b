import type { Knex } from 'knex';

/**
 * A daily level over the hourly ledger rollup (20261204100000), so all-time sums and long windows
 * read a few thousand rows rather than one per hour of history. Compaction now moves committed
 * changes into both levels in one statement, so they always agree; readers still add the changes
 * not yet compacted, so figures stay exact.
 */
const sums = ['entries', 'credited', 'debited', 'available', 'pending', 'held', 'debt'];
const summed = sums.map((c) => `sum(${c})`).join(', ');
const add = (table: string) => sums.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(', ');

const compact = (daily: boolean) => `
  CREATE OR REPLACE FUNCTION program_health_compact() RETURNS void LANGUAGE plpgsql AS $$
  BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('program_health_compact')) THEN RETURN; END IF;
    WITH moved AS (DELETE FROM ledger_hourly_changes RETURNING *)${
      daily
        ? `,
    hourly AS (
      INSERT INTO ledger_hourly SELECT hour, kind, cause, ${summed}
      FROM moved GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (hour, kind, cause) DO UPDATE SET ${add('ledger_hourly')})
    INSERT INTO ledger_daily SELECT date_trunc('day', hour, 'UTC'), kind, cause, ${summed}
    FROM moved GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (day, kind, cause) DO UPDATE SET ${add('ledger_daily')};`
        : `
    INSERT INTO ledger_hourly SELECT hour, kind, cause, ${summed}
    FROM moved GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (hour, kind, cause) DO UPDATE SET ${add('ledger_hourly')};`
    }
    WITH moved AS (DELETE FROM member_counts_changes RETURNING *)
    INSERT INTO member_counts
    SELECT status, tier, sum(members) FROM moved GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (status, tier) DO UPDATE SET members = member_counts.members + excluded.members;
  END $$;`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE ledger_daily (day timestamptz NOT NULL, kind text NOT NULL, cause text NOT NULL,
      ${sums.map((c) => `${c} bigint NOT NULL`).join(', ')}, PRIMARY KEY (day, kind, cause));
    COMMENT ON TABLE ledger_daily IS
      'ledger_hourly summed per UTC day; add ledger_hourly_changes for the total.';
    -- No compaction elsewhere until this commits (theirs would fill the hourly level only).
    SELECT pg_advisory_xact_lock(hashtext('program_health_compact'));
    SELECT program_health_compact();
    INSERT INTO ledger_daily SELECT date_trunc('day', hour, 'UTC'), kind, cause, ${summed}
    FROM ledger_hourly GROUP BY 1, 2, 3;
    ${compact(true)}`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`${compact(false)}
    DROP TABLE ledger_daily;`);
}
