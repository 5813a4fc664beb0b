/** Shared steps of the launch tests: an approved rule change, owners, a plan, waiting on states. */
import assert from 'node:assert/strict';
import { createApiKey } from '../../api/keys';
import type { ProgramInput } from '../../domain/program';
import { releaseState, setGeneralVersion } from '../../ledger/releases';
import { eventually, uniqueId, type ApiResponse, type TestContext } from './context';

/** Proposes `program` (by the context's admin) and has a second admin approve it. */
export async function approvedChange(
  t: TestContext,
  program: ProgramInput,
): Promise<{ changeId: string; version: number }> {
  const proposed = await t.api('POST', '/rule-sets', {
    body: { description: 'launch test change', program, propose: true },
  });
  assert.equal(proposed.status, 201, JSON.stringify(proposed.body));
  const changeId = proposed.body.id as string;
  const approver = await createApiKey(t.db, { role: 'admin', name: uniqueId('approver') });
  const approved = await t.api('POST', `/rule-changes/${changeId}/approve`, {
    key: approver.key,
    body: { reason: 'four eyes on the launch test' },
  });
  assert.equal(approved.status, 200, JSON.stringify(approved.body));
  let change: ApiResponse | undefined;
  await eventually('the change to be approved with a version', async () => {
    change = await t.api('GET', `/rule-changes/${changeId}`);
    return change.body.state === 'approved' && change.body.version ? true : undefined;
  });
  return { changeId, version: change!.body.version as number };
}

export interface Owner {
  key: string;
  actor: string;
}

/** An ops key to name as an area's owner. */
export async function owner(t: TestContext, area: string): Promise<Owner> {
  const name = uniqueId(`owner-${area}`);
  const { key } = await createApiKey(t.db, { role: 'ops', name });
  return { key, actor: `ops:${name}` };
}

export async function waitForLaunch(
  t: TestContext,
  id: string,
  state: string,
  timeoutMs = 30_000,
): Promise<ApiResponse['body']> {
  let last: ApiResponse | undefined;
  try {
    await eventually(
      `launch ${id} to be ${state}`,
      async () => {
        last = await t.api('GET', `/launches/${id}`);
        return last.body.state === state ? true : undefined;
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last?.body)}`);
  }
  return last!.body;
}

/** The release as it was, put back when the test ends (every test file shares one database). */
export async function keepRelease(t: TestContext): Promise<() => Promise<void>> {
  const before = await releaseState(t.db);
  return () => t.db.transaction((trx) => setGeneralVersion(trx, before.generalVersion));
}

/** Workflow ids Temporal's visibility lists for `query`. */
export async function listed(t: TestContext, query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of t.env.client.workflow.list({ query })) ids.push(wf.workflowId);
  return ids;
}
