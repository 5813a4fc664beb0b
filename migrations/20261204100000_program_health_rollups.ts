import type { Knex } from 'knex';

/**
 * Exact rollups for programme health, so figures over 10 million ledger entries and a million
 * members read in milliseconds. Each rollup is two tables:
 *
 * - `*_changes`: what one statement changed, appended by a trigger in the same transaction as the
 *   change itself (no row is ever updated there, so concurrent writers never wait on each other);
 * - the rollup proper, into which `program_health_compact()` moves committed changes, in one
 *   transaction (DELETE ... RETURNING then upsert).
 *
 * A reader sums the rollup and the changes in one statement, so it sees every committed ledger
 * entry exactly once whether or not compaction has run: the figures are exact at any moment.
 * `ledger_hourly` is keyed by UTC hour, kind and cause (service-recovery credits and refunds are
 * told apart from manual adjustments by the entry's dedupe key); `member_counts` by status and tier.
 */
const sums = `entries bigint NOT NULL, credited bigint NOT NULL, debited bigint NOT NULL,
  available bigint NOT NULL, pending bigint NOT NULL, held bigint NOT NULL, debt bigint NOT NULL`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE ledger_hourly (hour timestamptz NOT NULL, kind text NOT NULL, cause text NOT NULL,
      ${sums}, PRIMARY KEY (hour, kind, cause));
    CREATE TABLE ledger_hourly_changes (hour timestamptz NOT NULL, kind text NOT NULL,
      cause text NOT NULL, ${sums});
    COMMENT ON TABLE ledger_hourly IS
      'Ledger entries summed per UTC hour, kind and cause; add ledger_hourly_changes for the total.';

    CREATE FUNCTION ledger_entry_cause(kind text, dedupe_key text) RETURNS text
      LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE WHEN kind <> 'adjustment' THEN ''
          WHEN dedupe_key LIKE 'adjustment:sla:%' THEN 'service_recovery'
          WHEN dedupe_key LIKE 'adjustment:refund:%' THEN 'refund'
          ELSE 'manual' END $$;

    CREATE FUNCTION ledger_hourly_collect() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO ledger_hourly_changes
      SELECT date_trunc('hour', created_at, 'UTC'), kind, ledger_entry_cause(kind, dedupe_key),
        count(*), sum(greatest(amount, 0)), sum(greatest(-amount, 0)), sum(available_delta),
        sum(pending_delta), sum(held_delta), sum(debt_delta)
      FROM added GROUP BY 1, 2, 3;
      RETURN NULL;
    END $$;
    CREATE TRIGGER ledger_entries_hourly AFTER INSERT ON ledger_entries
      REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ledger_hourly_collect();

    INSERT INTO ledger_hourly
    SELECT date_trunc('hour', created_at, 'UTC'), kind, ledger_entry_cause(kind, dedupe_key),
      count(*), sum(greatest(amount, 0)), sum(greatest(-amount, 0)), sum(available_delta),
      sum(pending_delta), sum(held_delta), sum(debt_delta)
    FROM ledger_entries GROUP BY 1, 2, 3;

    CREATE TABLE member_counts (status text NOT NULL, tier text NOT NULL, members bigint NOT NULL,
      PRIMARY KEY (status, tier));
    CREATE TABLE member_counts_changes (status text NOT NULL, tier text NOT NULL,
      members bigint NOT NULL);

    CREATE FUNCTION member_counts_collect() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO member_counts_changes VALUES (OLD.status, OLD.tier, -1);
      END IF;
      IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO member_counts_changes VALUES (NEW.status, NEW.tier, 1);
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER members_counted_insert AFTER INSERT OR DELETE ON members
      FOR EACH ROW EXECUTE FUNCTION member_counts_collect();
    CREATE TRIGGER members_counted_update AFTER UPDATE OF status, tier ON members FOR EACH ROW
      WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.tier IS DISTINCT FROM NEW.tier)
      EXECUTE FUNCTION member_counts_collect();

    INSERT INTO member_counts SELECT status, tier, count(*) FROM members GROUP BY 1, 2;

    -- One compaction at a time (others skip: readers are exact either way).
    CREATE FUNCTION program_health_compact() RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT pg_try_advisory_xact_lock(hashtext('program_health_compact')) THEN RETURN; END IF;
      WITH moved AS (DELETE FROM ledger_hourly_changes RETURNING *)
      INSERT INTO ledger_hourly
      SELECT hour, kind, cause, sum(entries), sum(credited), sum(debited), sum(available),
        sum(pending), sum(held), sum(debt)
      FROM moved GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (hour, kind, cause) DO UPDATE SET
        entries = ledger_hourly.entries + excluded.entries,
        credited = ledger_hourly.credited + excluded.credited,
        debited = ledger_hourly.debited + excluded.debited,
        available = ledger_hourly.available + excluded.available,
        pending = ledger_hourly.pending + excluded.pending,
        held = ledger_hourly.held + excluded.held,
        debt = ledger_hourly.debt + excluded.debt;
      WITH moved AS (DELETE FROM member_counts_changes RETURNING *)
      INSERT INTO member_counts
      SELECT status, tier, sum(members) FROM moved GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT (status, tier) DO UPDATE SET members = member_counts.members + excluded.members;
    END $$;

    -- Figures read by time range and state.
    CREATE INDEX members_enrolled_at ON members (enrolled_at);
    CREATE INDEX redemption_steps_step_at ON redemption_steps (step, at);
    CREATE INDEX redemptions_created_at ON redemptions (created_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX redemptions_created_at;
    DROP INDEX redemption_steps_step_at;
    DROP INDEX members_enrolled_at;
    DROP FUNCTION program_health_compact();
    DROP TRIGGER members_counted_update ON members;
    DROP TRIGGER members_counted_insert ON members;
    DROP FUNCTION member_counts_collect();
    DROP TABLE member_counts_changes;
    DROP TABLE member_counts;
    DROP TRIGGER ledger_entries_hourly ON ledger_entries;
    DROP FUNCTION ledger_hourly_collect();
    DROP FUNCTION ledger_entry_cause(text, text);
    DROP TABLE ledger_hourly_changes;
    DROP TABLE ledger_hourly;
  `);
}
