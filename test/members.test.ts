import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import type { MemberRow } from '../api/members';
import type { ProgramEventRow } from '../activities/members';
import { memberStateQuery, workflowIds } from '../workflows/shared';
import { eventually, startTestContext, uniqueId, type TestContext } from './support/context';

describe('members: POST /members and GET /members/:id', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('members');
  });
  after(async () => {
    await t.stop();
  });

  it('enrols a member: a row in Postgres and a running member:<id> workflow with search attributes', async () => {
    const externalId = uniqueId('ext');
    const res = await t.api('POST', '/members', {
      body: { externalId, email: 'ada@example.com', name: 'Ada' },
      key: t.keys.ops,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id: string = res.body.id;
    assert.equal(res.headers.get('location'), `/members/${id}`);
    assert.deepEqual(
      { externalId: res.body.externalId, status: res.body.status, tier: res.body.tier },
      { externalId, status: 'active', tier: 'Member' },
    );

    const row = await t.db<MemberRow>('members').where({ id }).first();
    assert.equal(row?.external_id, externalId);
    assert.equal(row?.email, 'ada@example.com');

    const handle = t.env.client.workflow.getHandle(workflowIds.member(id));
    const description = await handle.describe();
    assert.equal(description.status.name, 'RUNNING');
    assert.equal(description.taskQueue, t.config.TEMPORAL_TASK_QUEUE);
    const attributes = description.typedSearchAttributes;
    assert.equal(attributes.get(searchKey('MemberId')), id);
    assert.equal(attributes.get(searchKey('Tier')), 'Member');
    assert.equal(attributes.get(searchKey('MemberStatus')), 'active');

    // The worker ran the workflow: it answers queries and recorded the enrolment event.
    const state = await handle.query(memberStateQuery);
    assert.equal(state.memberId, id);
    const event = await eventually('the member.enrolled event', () =>
      t
        .db<ProgramEventRow>('program_events')
        .where({ member_id: id, type: 'member.enrolled' })
        .first(),
    );
    assert.deepEqual(event.payload, { externalId, tier: 'Member' });

    // Visible to a search by the MemberId search attribute, as in Temporal UI.
    const listed = await eventually('the workflow in visibility', async () => {
      const found: string[] = [];
      for await (const wf of t.env.client.workflow.list({ query: `MemberId = '${id}'` })) {
        found.push(wf.workflowId);
      }
      return found.length ? found : undefined;
    });
    assert.deepEqual(listed, [workflowIds.member(id)]);
  });

  it('the same external id enrolled twice, or concurrently, is one member and one workflow', async () => {
    const externalId = uniqueId('ext');
    const first = await t.api('POST', '/members', { body: { externalId, name: 'Bo' } });
    assert.equal(first.status, 201);
    const again = await t.api('POST', '/members', { body: { externalId, name: 'Bo' } });
    assert.equal(again.status, 200);
    assert.equal(again.body.id, first.body.id);

    const otherId = uniqueId('ext');
    const concurrent = await Promise.all(
      Array.from({ length: 8 }, () => t.api('POST', '/members', { body: { externalId: otherId } })),
    );
    const ids = new Set(concurrent.map((r) => r.body.id as string));
    assert.equal(ids.size, 1);
    assert.deepEqual(
      concurrent.map((r) => r.status).sort(),
      [200, 200, 200, 200, 200, 200, 200, 201],
    );

    for (const ext of [externalId, otherId]) {
      const rows = await t.db<MemberRow>('members').where({ external_id: ext });
      assert.equal(rows.length, 1);
      const runs = await eventually('visibility', async () => {
        const found: string[] = [];
        const query = `MemberId = '${rows[0]!.id}'`;
        for await (const wf of t.env.client.workflow.list({ query })) found.push(wf.runId);
        return found.length ? found : undefined;
      });
      assert.equal(runs.length, 1, `one run for ${ext}`);
    }
  });

  it('refuses a repeat enrolment with other details (409, naming the field) and changes nothing', async () => {
    const externalId = uniqueId('ext');
    const first = await t.api('POST', '/members', { body: { externalId, email: 'a@example.com' } });
    const clash = await t.api('POST', '/members', { body: { externalId, email: 'b@example.com' } });
    assert.equal(clash.status, 409);
    assert.equal(clash.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.deepEqual(
      clash.body.errors.map((e: { field: string }) => e.field),
      ['email'],
    );
    const row = await t.db<MemberRow>('members').where({ id: first.body.id }).first();
    assert.equal(row?.email, 'a@example.com');
  });

  it('GET /members/:id returns the member and its workflow status and link', async () => {
    const created = await t.api('POST', '/members', { body: { externalId: uniqueId('ext') } });
    const res = await t.api('GET', `/members/${created.body.id}`, { key: t.keys.readonly });
    assert.equal(res.status, 200);
    assert.equal(res.body.id, created.body.id);
    assert.equal(res.body.workflow.id, `member:${created.body.id}`);
    assert.equal(res.body.workflow.status, 'RUNNING');
    assert.match(res.body.workflow.url, /\/namespaces\/default\/workflows\/member%3A/);
  });

  it('GET /members/:id of an unknown or malformed id is a 404 problem naming the id', async () => {
    for (const id of ['6f1c1d5e-4b0a-4d2f-9a55-0d5b8f1e2a3c', 'not-a-uuid']) {
      const res = await t.api('GET', `/members/${id}`);
      assert.equal(res.status, 404);
      assert.equal(res.body.status, 404);
      assert.equal(res.body.errors[0].field, 'id');
    }
  });

  it('writes member.enrolled with the member row, before any workflow has run', async () => {
    // No worker polls this context's task queue: whatever is in Postgres, the API wrote.
    const idle = await startTestContext('members-idle', {}, { worker: false });
    try {
      const externalId = uniqueId('ext');
      const res = await idle.api('POST', '/members', { body: { externalId } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const id = res.body.id as string;
      const events = await t
        .db<ProgramEventRow>('program_events')
        .where({ member_id: id, type: 'member.enrolled' });
      assert.equal(events.length, 1, 'written in the enrolment transaction');
      assert.equal(events[0]!.dedupe_key, `member.enrolled:${id}`);
      assert.deepEqual(events[0]!.payload, { externalId, tier: 'Member' });
      const again = await idle.api('POST', '/members', { body: { externalId } });
      assert.equal(again.status, 200);
      const after = await t.db('program_events').where({ member_id: id, type: 'member.enrolled' });
      assert.equal(after.length, 1, 'a repeat enrolment writes no second event');
      await idle.env.client.workflow.getHandle(workflowIds.member(id)).terminate('test done');
    } finally {
      await idle.stop();
    }
  });

  it('a member saved without its workflow (Temporal was down) shows NOT_FOUND; retrying the enrolment starts it', async () => {
    const externalId = uniqueId('ext');
    const id = randomUUID();
    await t
      .db<MemberRow>('members')
      .insert({ id, external_id: externalId, status: 'active', tier: 'Member' });
    const before = await t.api('GET', `/members/${id}`);
    assert.equal(before.status, 200);
    assert.equal(before.body.workflow.status, 'NOT_FOUND');

    const retry = await t.api('POST', '/members', { body: { externalId } });
    assert.equal(retry.status, 200);
    assert.equal(retry.body.id, id);
    const after = await t.api('GET', `/members/${id}`);
    assert.equal(after.body.workflow.status, 'RUNNING');
  });
});

function searchKey(name: 'MemberId' | 'Tier' | 'MemberStatus') {
  return { name, type: 'KEYWORD' as const };
}
