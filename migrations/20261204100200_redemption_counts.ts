import type { Knex } from 'knex';

/**
 * Redemptions by status as an exact rollup, like member counts (20261204100000): a row trigger
 * appends +1/-1 when a redemption is created or changes status; `redemption_counts_compact()`
 * folds committed changes in; readers add both in one statement. Counting 200,000 rows took
 * 40 ms; the table only grows.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE redemption_counts (status text PRIMARY KEY, redemptions bigint NOT NULL);
    CREATE TABLE redemption_counts_changes (status text NOT NULL, redemptions bigint NOT NULL);

    CREATE FUNCTION redemption_counts_collect() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO redemption_counts_changes VALUES (OLD.status, -1);
      END IF;
      IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO redemption_counts_changes VALUES (NEW.status, 1);
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER redemptions_counted AFTER INSERT OR DELETE ON redemptions
      FOR EACH ROW EXECUTE FUNCTION redemption_counts_collect();
    CREATE TRIGGER redemptions_counted_update AFTER UPDATE OF status ON redemptions FOR EACH ROW
      WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION redemption_counts_collect();

    INSERT INTO redemption_counts SELECT status, count(*) FROM redemptions GROUP BY status;

    CREATE FUNCTION redemption_counts_compact() RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT pg_try_advisory_xact_lock(hashtext('redemption_counts_compact')) THEN RETURN; END IF;
      WITH moved AS (DELETE FROM redemption_counts_changes RETURNING *)
      INSERT INTO redemption_counts
      SELECT status, sum(redemptions) FROM moved GROUP BY 1 ORDER BY 1
      ON CONFLICT (status) DO UPDATE
        SET redemptions = redemption_counts.redemptions + excluded.redemptions;
    END $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP FUNCTION redemption_counts_compact();
    DROP TRIGGER redemptions_counted_update ON redemptions;
    DROP TRIGGER redemptions_counted ON redemptions;
    DROP FUNCTION redemption_counts_collect();
    DROP TABLE redemption_counts_changes;
    DROP TABLE redemption_counts;
  `);
}
