/**
 * Waits until the lifecycle workflows of freshly enrolled members have run their first review.
 * Until then a member has no `lifecycle_wake_at`, so every event for it also signals its workflow
 * (see `ledger/accrual.ts`): a start-up cost of enrolment, not the steady state the bench measures.
 */
import pg from 'pg';

export async function waitForLifecycles(
  databaseUrl: string,
  externalIdPrefix: string,
  timeoutMs: number,
): Promise<{ seconds: number; waiting: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const started = Date.now();
  try {
    for (;;) {
      // Read-only, on the app's table: the members of this run without a first review yet.
      const { rows } = await client.query<{ waiting: string }>(
        `SELECT count(*) AS waiting FROM members
         WHERE external_id LIKE $1 AND lifecycle_wake_at IS NULL`,
        [`${externalIdPrefix}%`],
      );
      const waiting = Number(rows[0]!.waiting);
      const seconds = (Date.now() - started) / 1000;
      if (waiting === 0 || Date.now() - started > timeoutMs) return { seconds, waiting };
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    await client.end();
  }
}
