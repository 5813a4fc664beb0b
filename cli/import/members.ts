/**
 * `import members`: rows checked like `POST /members`, inserted 5,000 at a time by one statement
 * together with their `member.enrolled` events (a unique external id makes a second run insert
 * nothing), then the lifecycle workflow of each new member started, 16 at a time, as enrolment
 * through the API does.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { z } from 'zod';
import { insertMembers, startLifecycle } from '../../api/members';
import { enrolBody } from '../../api/routes/members';
import type { AppConfig } from '../../config';
import type { MemberStatus } from '../../domain/member';
import type { Db } from '../../infra/db';
import type { CsvFile } from './csv';
import { batches, limiter } from './concurrency';
import { invalid, reject, type Tally } from './report';

export const memberColumns = { required: ['externalId'], optional: ['email', 'name'] };

const batchSize = 5_000;
const workflowsInFlight = 16;

export interface MemberImportDeps {
  db: Db;
  config: AppConfig;
  /** Null with `--no-workflows`. */
  temporal: Client | null;
}

type MemberInput = z.infer<typeof enrolBody>;

interface MemberRef {
  id: string;
  external_id: string;
  tier: string;
  status: MemberStatus;
}

interface PresentRow extends MemberRef {
  email: string | null;
  name: string | null;
  lifecycle_wake_at: Date | null;
}

export async function importMembers(
  deps: MemberImportDeps,
  file: CsvFile,
  tally: Tally,
  tick: () => void,
): Promise<void> {
  if (deps.temporal) tally.workflows = { started: 0, checked: 0, notStarted: 0 };
  const pending = batches<{ line: number; member: MemberInput }>(batchSize, (batch) =>
    saveBatch(deps, batch, tally),
  );
  for await (const row of file.rows) {
    if (++tally.read % 1_000 === 0) tick();
    if ('rejected' in row) {
      reject(tally, row.rejected);
      continue;
    }
    const { externalId, email, name } = row.values;
    const parsed = enrolBody.safeParse({
      externalId,
      email: email || undefined,
      name: name || undefined,
    });
    if (!parsed.success) {
      reject(tally, invalid(row.line, parsed.error));
      continue;
    }
    await pending.push({ line: row.line, member: parsed.data });
  }
  await pending.end();
}

async function saveBatch(
  deps: MemberImportDeps,
  batch: { line: number; member: MemberInput }[],
  tally: Tally,
): Promise<void> {
  const ids = batch.map(() => randomUUID());
  // With their `member.enrolled` events, in the same statement (the webhook outbox).
  const inserted: MemberRef[] = await insertMembers(
    deps.db,
    batch.map(({ member }, i) => ({
      id: ids[i]!,
      externalId: member.externalId,
      email: member.email ?? null,
      name: member.name ?? null,
    })),
  );
  tally.imported += inserted.length;
  const insertedIds = new Set(inserted.map((m) => m.id));
  // Repeats in the file (the first one wins) and members enrolled before.
  const others = batch.filter((_, i) => !insertedIds.has(ids[i]!));
  // Already enrolled: the same details are a duplicate, other details a conflict (as in the API).
  // One whose lifecycle never ran (an earlier `--no-workflows` run, or Temporal down) is started.
  const toCheck = new Map<string, MemberRef>();
  if (others.length) {
    const { rows } = await deps.db.raw<{ rows: PresentRow[] }>(
      `SELECT id, external_id, email, name, tier, status, lifecycle_wake_at FROM members
       WHERE external_id = ANY(?::text[])`,
      [others.map((b) => b.member.externalId)],
    );
    const byExternalId = new Map(rows.map((m) => [m.external_id, m]));
    for (const { line, member } of others) {
      const present = byExternalId.get(member.externalId);
      if (!present) throw new Error(`member ${member.externalId} neither inserted nor found`);
      const field = differing(member, present);
      if (field) {
        const message = `differs from the enrolled member's ${field} (not changed)`;
        reject(tally, [{ line, field, message }]);
        continue;
      }
      tally.present++;
      const neverRan = present.lifecycle_wake_at === null && present.status !== 'closed';
      if (neverRan && !insertedIds.has(present.id)) toCheck.set(present.id, present);
    }
  }
  await startWorkflows(deps, inserted, tally);
  await startWorkflows(deps, [...toCheck.values()], tally, true);
}

function differing(
  member: MemberInput,
  enrolled: { email: string | null; name: string | null },
): 'email' | 'name' | undefined {
  return (['email', 'name'] as const).find(
    (field) => member[field] !== undefined && member[field] !== enrolled[field],
  );
}

/**
 * Starts each member's lifecycle (idempotent: an existing one is kept). After the first failure
 * (Temporal down) the rest are counted, not tried; a later run starts them.
 */
async function startWorkflows(
  deps: MemberImportDeps,
  members: MemberRef[],
  tally: Tally,
  present = false,
): Promise<void> {
  const { temporal } = deps;
  const workflows = tally.workflows;
  if (!temporal || !workflows) return;
  const limit = limiter(workflowsInFlight);
  for (const member of members) {
    if (workflows.error) {
      workflows.notStarted++;
      continue;
    }
    await limit.add(async () => {
      try {
        await startLifecycle({ temporal, config: deps.config }, member);
        workflows[present ? 'checked' : 'started']++;
      } catch (err) {
        workflows.notStarted++;
        workflows.error ??= (err as Error).message;
      }
    });
  }
  await limit.drain();
}
