/**
 * `import grants`: rows checked, then credited 2,000 at a time by `grantBatch` (one transaction
 * per batch, batches in file order). The grant id is the idempotency key, so a second run, or a
 * grant repeated in the file, credits nothing.
 */
import { z } from 'zod';
import { externalId } from '../../api/routes/members';
import type { Db } from '../../infra/db';
import { grantBatch, type GrantInput } from '../../ledger/grants';
import { batches } from './concurrency';
import type { CsvFile } from './csv';
import { invalid, reject, type Tally } from './report';

export const grantColumns = {
  required: ['grantId', 'externalId', 'points', 'reason'],
  optional: [],
};

const batchSize = 2_000;
const positive = 'expected a positive whole number';

/** As the API's adjustments: up to a billion points, a reason of 3 to 500 characters. */
const grantRow = z.object({
  grantId: externalId,
  externalId,
  points: z
    .string()
    .regex(/^\d+$/, positive)
    .transform(Number)
    .pipe(z.number().int().min(1, positive).max(1_000_000_000)),
  reason: z.string().trim().min(3).max(500),
});

export async function importGrants(
  deps: { db: Db; actor: string },
  file: CsvFile,
  tally: Tally,
  tick: () => void,
): Promise<void> {
  const pending = batches<{ line: number; grant: GrantInput }>(batchSize, async (batch) => {
    const outcomes = await grantBatch(
      deps.db,
      batch.map((b) => b.grant),
    );
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'rejected') {
        const { field, message } = outcome;
        reject(tally, [{ line: batch[i]!.line, field, message }]);
      } else tally[outcome.status === 'granted' ? 'imported' : 'present']++;
    });
  });
  for await (const row of file.rows) {
    if (++tally.read % 1_000 === 0) tick();
    if ('rejected' in row) {
      reject(tally, row.rejected);
      continue;
    }
    const parsed = grantRow.safeParse(row.values);
    if (!parsed.success) {
      reject(tally, invalid(row.line, parsed.error));
      continue;
    }
    await pending.push({ line: row.line, grant: { ...parsed.data, actor: deps.actor } });
  }
  await pending.end();
}
