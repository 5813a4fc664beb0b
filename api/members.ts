/** Member enrolment and lookup: the row in Postgres and the `member:<id>` lifecycle workflow. */
import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import type { AppConfig } from '../config';
import type { Db } from '../infra/db';
import { workflowUrl } from '../infra/temporal';
import { entryTier, type MemberStatus } from '../domain/member';
import type { memberWorkflow } from '../workflows/member';
import { searchAttributes, workflowIds } from '../workflows/shared';
import { memberSummary } from '../ledger/queries';
import type { LedgerMemberRow } from '../ledger/store';
import { notFound, Problem } from './problem';

export interface MemberRow {
  id: string;
  external_id: string;
  email: string | null;
  name: string | null;
  status: MemberStatus;
  tier: string;
  enrolled_at: Date;
  updated_at: Date;
}

export interface MemberDeps {
  db: Db;
  temporal: Client;
  config: AppConfig;
}

export interface EnrolInput {
  externalId: string;
  email?: string | undefined;
  name?: string | undefined;
}

export function memberView(row: MemberRow) {
  return {
    id: row.id,
    externalId: row.external_id,
    email: row.email,
    name: row.name,
    status: row.status,
    tier: row.tier,
    enrolledAt: row.enrolled_at.toISOString(),
  };
}

/**
 * Inserts members (one statement, so one transaction) together with their `member.enrolled`
 * program events (the webhook outbox): a member is never saved without its event. An external id
 * already enrolled is left as it is and not returned. Also used by the bulk import.
 */
export async function insertMembers(
  db: Db,
  members: { id: string; externalId: string; email: string | null; name: string | null }[],
): Promise<MemberRow[]> {
  const { rows } = await db.raw<{ rows: MemberRow[] }>(
    `WITH m AS (
       INSERT INTO members (id, external_id, email, name, status, tier)
       SELECT id, external_id, nullif(email, ''), nullif(name, ''), 'active', ?
       FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[]) AS m(id, external_id, email, name)
       ON CONFLICT (external_id) DO NOTHING
       RETURNING *
     ), events AS (
       INSERT INTO program_events (type, member_id, dedupe_key, payload, occurred_at)
       SELECT 'member.enrolled', id, 'member.enrolled:' || id,
         jsonb_build_object('externalId', external_id, 'tier', tier), enrolled_at
       FROM m
       ON CONFLICT (dedupe_key) DO NOTHING
     )
     SELECT * FROM m`,
    [
      entryTier,
      members.map((m) => m.id),
      members.map((m) => m.externalId),
      members.map((m) => m.email ?? ''), // '' for none: valid ones are never empty
      members.map((m) => m.name ?? ''),
    ],
  );
  return rows;
}

/**
 * Enrols a member once per external id. The row and its `member.enrolled` event are written
 * first, in one transaction (a unique external id makes concurrent or repeated requests land on
 * one row), then the lifecycle workflow is started with `USE_EXISTING`, so a repeat, or a retry
 * after Temporal was down, starts it at most once.
 */
export async function enrolMember(
  deps: MemberDeps,
  input: EnrolInput,
): Promise<{ created: boolean; member: MemberRow }> {
  const inserted = await insertMembers(deps.db, [
    {
      id: randomUUID(),
      externalId: input.externalId,
      email: input.email ?? null,
      name: input.name ?? null,
    },
  ]);
  const member =
    inserted[0] ??
    (await deps.db<MemberRow>('members').where({ external_id: input.externalId }).first());
  if (!member) throw new Error(`member ${input.externalId} neither inserted nor found`);
  const created = inserted.length > 0;
  if (!created) assertSameDetails(member, input);
  await startLifecycle(deps, member);
  return { created, member };
}

function assertSameDetails(member: MemberRow, input: EnrolInput): void {
  const errors = (['email', 'name'] as const)
    .filter((field) => input[field] !== undefined && input[field] !== member[field])
    .map((field) => ({ field, message: `differs from the enrolled member's ${field}` }));
  if (errors.length) {
    throw new Problem(
      'conflict',
      `A member with externalId '${input.externalId}' is already enrolled with other details.`,
      { errors, memberId: member.id },
    );
  }
}

/** Starts `member:<id>` once (also used by the bulk import, `cli/import/members.ts`). */
export async function startLifecycle(
  deps: Pick<MemberDeps, 'temporal' | 'config'>,
  member: Pick<MemberRow, 'id' | 'external_id' | 'tier' | 'status'>,
): Promise<void> {
  try {
    await deps.temporal.workflow.start<typeof memberWorkflow>('memberWorkflow', {
      workflowId: workflowIds.member(member.id),
      taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
      // A running lifecycle is reused; a finished one (a closed member) is never started again.
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      args: [
        {
          memberId: member.id,
          externalId: member.external_id,
          tier: member.tier,
          status: member.status,
        },
      ],
      typedSearchAttributes: [
        { key: searchAttributes.MemberId, value: member.id },
        { key: searchAttributes.Tier, value: member.tier },
        { key: searchAttributes.MemberStatus, value: member.status },
      ],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    throw new Problem(
      'unavailable',
      `Member ${member.id} is saved but its workflow could not be started (Temporal: ${(err as Error).message}). Retry the same request.`,
      { memberId: member.id },
    );
  }
}

export async function findMember(deps: MemberDeps, id: string) {
  const member = await deps.db<MemberRow & LedgerMemberRow>('members').where({ id }).first();
  if (!member) throw notFound('member', 'id', id);
  const summary = await memberSummary(deps.db, member);
  const workflowId = workflowIds.member(id);
  const workflow = { id: workflowId, url: workflowUrl(deps.config, workflowId) };
  try {
    const description = await deps.temporal.workflow.getHandle(workflowId).describe();
    return {
      ...memberView(member),
      ...summary,
      workflow: { ...workflow, runId: description.runId, status: description.status.name },
    };
  } catch (err) {
    const status = err instanceof WorkflowNotFoundError ? 'NOT_FOUND' : 'UNKNOWN';
    return { ...memberView(member), ...summary, workflow: { ...workflow, runId: null, status } };
  }
}

export interface MemberLookup {
  /** A member id, an external id or an email address. */
  q?: string | undefined;
  externalId?: string | undefined;
  email?: string | undefined;
  limit: number;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Members matching every criterion given: `q` is an id, an external id or an email (exact, email
 * in any case); `externalId` and `email` narrow to that one field. Oldest enrolment first.
 */
export async function lookupMembers(
  db: Db,
  lookup: MemberLookup,
): Promise<(MemberRow & LedgerMemberRow)[]> {
  const query = db<MemberRow & LedgerMemberRow>('members')
    .orderBy([{ column: 'enrolled_at' }, { column: 'id' }])
    .limit(lookup.limit);
  if (lookup.q !== undefined) {
    const q = lookup.q;
    void query.where((w) => {
      if (uuidPattern.test(q)) void w.orWhere('id', q.toLowerCase());
      void w.orWhere('external_id', q).orWhereRaw('lower(email) = lower(?)', [q]);
    });
  }
  if (lookup.externalId !== undefined) void query.where('external_id', lookup.externalId);
  if (lookup.email !== undefined) void query.whereRaw('lower(email) = lower(?)', [lookup.email]);
  return query;
}
