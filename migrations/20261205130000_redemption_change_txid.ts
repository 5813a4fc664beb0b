import type { Knex } from 'knex';

/**
 * The queue's change feed (GET /redemptions/events): each redemption row carries the id of the
 * transaction that last changed it (`change_txid`), set by a trigger on every insert and update,
 * whoever the writer. Transaction ids are handed out at the first write, not at commit, so a
 * reader resumes from a watermark rather than the largest id it saw: the oldest transaction still
 * running when it read (`pg_snapshot_xmin`). Every transaction below it has ended, so no change
 * committed later can carry a smaller id, and a reconnect from the watermark misses nothing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE redemptions ADD COLUMN change_txid xid8 NOT NULL DEFAULT pg_current_xact_id();
    COMMENT ON COLUMN redemptions.change_txid IS
      'The transaction that last changed the row (the queue change feed reads past a watermark).';
    CREATE INDEX redemptions_change_txid_index ON redemptions (change_txid);
    CREATE FUNCTION redemptions_mark_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.change_txid := pg_current_xact_id();
      RETURN NEW;
    END $$;
    CREATE TRIGGER redemptions_mark_change BEFORE INSERT OR UPDATE ON redemptions
      FOR EACH ROW EXECUTE FUNCTION redemptions_mark_change();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER redemptions_mark_change ON redemptions;
    DROP FUNCTION redemptions_mark_change();
    ALTER TABLE redemptions DROP COLUMN change_txid;
  `);
}
