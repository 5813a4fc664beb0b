import type { Knex } from 'knex';

/**
 * The liability ceiling's counter (budgets/liability.ts) is the outstanding points at its last
 * rebase plus every accrual since. Points credited outside accruals (adjustments, grants,
 * refunds, service-recovery credits) raise the liability too: this trigger adds them to the
 * counter's base slot in the same transaction (its usage, not its allowance: the room they took
 * is not handed out again), and an escrow batch that sees the counter past the ceiling is decided
 * in exact mode (budgets/points.ts), so accruals do not use that room. It
 * takes the counter's period row FOR KEY SHARE first, as accrual batches do, so a rebase (which
 * holds it FOR UPDATE and reads the ledger after) either waits for the credit and sees it in the
 * ledger, or comes first and the credit is added on top. Decreases are not counted here (the
 * counter may stay above the truth until the next rebase); without a ceiling there is no row to
 * add to and the trigger changes nothing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION liability_credits_collect() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE credited bigint;
    BEGIN
      SELECT coalesce(sum(greatest(0, available_delta + pending_delta + held_delta)), 0)
        INTO credited FROM added WHERE kind <> 'accrual';
      IF credited > 0 THEN
        PERFORM 1 FROM budget_periods WHERE budget = 'liability' AND period = 'standing'
          FOR KEY SHARE;
        UPDATE budget_slots SET used = used + credited
          WHERE budget = 'liability' AND period = 'standing' AND slot = -1;
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER ledger_entries_liability_credits AFTER INSERT ON ledger_entries
      REFERENCING NEW TABLE AS added FOR EACH STATEMENT
      EXECUTE FUNCTION liability_credits_collect();`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER ledger_entries_liability_credits ON ledger_entries;
    DROP FUNCTION liability_credits_collect();`);
}
