/**
 * `npm run import`: the real command as a child process against the test stack, on small CSV
 * files with good rows, bad rows and repeats, each imported twice.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { ms, programSchema } from '../domain/program';
import type { MemberRow } from '../api/members';
import type { EntryRow } from '../ledger/queries';
import { workflowIds } from '../workflows/shared';
import { eventually, startTestContext, uniqueId, type TestContext } from './support/context';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The summary's counts, by label ("rows read" -> 8); not the time taken. */
function counts(stdout: string): Record<string, number> {
  const found: Record<string, number> = {};
  for (const match of stdout.matchAll(/^ {2}([a-z ]+):\s+([\d,]+)/gm)) {
    if (match[1] !== 'time') found[match[1]!] = Number(match[2]!.replaceAll(',', ''));
  }
  return found;
}

type Entry = EntryRow & { dedupe_key: string };

const rejectedLines = (stdout: string): string[] =>
  stdout.split('\n').filter((line) => /^line \d+: /.test(line));

describe('bulk import from CSV: npm run import', () => {
  let t: TestContext;
  let dir: string;
  before(async () => {
    t = await startTestContext('import');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loyalty-import-'));
  });
  after(async () => {
    await t.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const csv = (name: string, lines: string[]): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  };

  const runImport = (...args: string[]): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'cli/import.ts', ...args], {
        cwd: path.resolve(__dirname, '..'),
        env: {
          ...process.env,
          DATABASE_URL: t.config.DATABASE_URL,
          TEMPORAL_ADDRESS: t.config.TEMPORAL_ADDRESS,
          TEMPORAL_NAMESPACE: t.config.TEMPORAL_NAMESPACE,
          TEMPORAL_TASK_QUEUE: t.config.TEMPORAL_TASK_QUEUE,
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  const memberByExternalId = (externalId: string) =>
    t.db<MemberRow>('members').where({ external_id: externalId }).first();

  it('imports members, reports bad rows by line, and imports nothing the second time', async () => {
    const [ada, bo, eve] = [uniqueId('ada'), uniqueId('bo'), uniqueId('eve')];
    const file = csv('members.csv', [
      'externalId,email,name',
      `${ada},ada@example.com,Ada`,
      `${bo},,`,
      'not valid,x@example.com,X',
      `${uniqueId('cy')},not-an-email,Cy`,
      `${ada},ada@example.com,Ada`, // the same again: a duplicate
      `${ada},other@example.com,Ada`, // other details: rejected, not changed
      `${uniqueId('di')},di@example.com`, // a field short
      `${eve},eve@example.com,"Eve ""the"" Great"`,
    ]);

    const first = await runImport('members', file);
    assert.equal(first.code, 65, first.stderr);
    assert.deepEqual(counts(first.stdout), {
      'rows read': 8,
      imported: 3,
      'already present': 1,
      rejected: 4,
      'workflows started': 3,
    });
    assert.deepEqual(rejectedLines(first.stdout), [
      'line 4: externalId: letters, digits and . _ : @ - only',
      'line 5: email: Invalid email address',
      "line 7: email: differs from the enrolled member's email (not changed)",
      'line 8: row: expected 3 fields (externalId,email,name), got 2',
    ]);

    const rows = await t
      .db<MemberRow>('members')
      .whereIn('external_id', [ada, bo, eve])
      .orderBy('external_id')
      .select('id', 'external_id', 'email', 'name', 'status', 'tier');
    assert.deepEqual(
      rows.map(({ id: _id, ...row }) => row),
      [
        {
          external_id: ada,
          email: 'ada@example.com',
          name: 'Ada',
          status: 'active',
          tier: 'Member',
        },
        { external_id: bo, email: null, name: null, status: 'active', tier: 'Member' },
        {
          external_id: eve,
          email: 'eve@example.com',
          name: 'Eve "the" Great',
          status: 'active',
          tier: 'Member',
        },
      ].sort((a, b) => a.external_id.localeCompare(b.external_id)),
    );

    // Each new member has its lifecycle workflow, as if enrolled through the API.
    for (const { id } of rows) {
      const description = await t.env.client.workflow.getHandle(workflowIds.member(id)).describe();
      assert.equal(description.status.name, 'RUNNING');
      assert.equal(description.taskQueue, t.config.TEMPORAL_TASK_QUEUE);
    }
    const member = await t.api('GET', `/members/${rows[0]!.id}`);
    assert.equal(member.body.workflow.status, 'RUNNING');
    // Once the workflows have run, a second run has nothing to do.
    await eventually('the lifecycles to run', async () => {
      const waiting = await t
        .db('members')
        .whereIn('external_id', [ada, bo, eve])
        .whereNull('lifecycle_wake_at');
      return waiting.length === 0 ? true : undefined;
    });

    const second = await runImport('members', file);
    assert.equal(second.code, 65, second.stderr);
    assert.deepEqual(counts(second.stdout), {
      'rows read': 8,
      imported: 0,
      'already present': 4,
      rejected: 4,
      'workflows started': 0,
    });
    assert.deepEqual(rejectedLines(second.stdout), rejectedLines(first.stdout));
    const after = await t
      .db<MemberRow>('members')
      .whereIn('external_id', [ada, bo, eve])
      .select('id');
    assert.deepEqual(after.map((m) => m.id).sort(), rows.map((m) => m.id).sort());
  });

  it('--no-workflows leaves the lifecycle to a later run, which starts it', async () => {
    const externalId = uniqueId('later');
    const file = csv('later.csv', ['externalId', externalId]);
    const first = await runImport('members', file, '--no-workflows');
    assert.equal(first.code, 0, first.stderr);
    assert.equal(counts(first.stdout).imported, 1);
    assert.equal(counts(first.stdout)['workflows started'], undefined);
    const { id } = (await memberByExternalId(externalId))!;
    const handle = t.env.client.workflow.getHandle(workflowIds.member(id));
    await assert.rejects(handle.describe(), WorkflowNotFoundError);
    // No workflow ran: the import wrote the outbox event with the member row.
    const enrolled = await t.db('program_events').where({ dedupe_key: `member.enrolled:${id}` });
    assert.equal(enrolled.length, 1);
    assert.equal(enrolled[0].type, 'member.enrolled');
    assert.equal(enrolled[0].member_id, id);

    const second = await runImport('members', file);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(counts(second.stdout), {
      'rows read': 1,
      imported: 0,
      'already present': 1,
      rejected: 0,
      'workflows started': 0,
      'workflows checked': 1,
    });
    assert.equal((await handle.describe()).status.name, 'RUNNING');
  });

  it('imports grants as ledger credits once per grantId, rejecting what cannot be granted', async () => {
    const enrol = async () => {
      const res = await t.api('POST', '/members', { body: { externalId: uniqueId('g') } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body as { id: string; externalId: string };
    };
    const [one, two, closed] = [await enrol(), await enrol(), await enrol()];
    const close = await t.api('POST', `/members/${closed.id}/close`, {
      body: { reason: 'left the program' },
    });
    assert.equal(close.status, 200, JSON.stringify(close.body));
    const [g1, g2, g3, g4, g5, g6, g7] = Array.from({ length: 7 }, () => uniqueId('grant'));
    const file = csv('grants-2026.csv', [
      'grantId,externalId,points,reason',
      `${g1},${one.externalId},100,welcome bonus`,
      `${g2},${two.externalId},50,welcome bonus`,
      `${g3},${uniqueId('nobody')},10,welcome bonus`,
      `${g4},${one.externalId},0,nothing`,
      `${g5},${one.externalId},ten,letters`,
      `${g1},${one.externalId},100,welcome bonus`, // the same grant again
      `${g1},${two.externalId},100,welcome bonus`, // its id for another grant
      `${g6},${closed.externalId},10,too late`,
      `${g7},${one.externalId},25,"migrated, from the old system"`,
    ]);

    const first = await runImport('grants', file);
    assert.equal(first.code, 65, first.stderr);
    assert.deepEqual(counts(first.stdout), {
      'rows read': 9,
      imported: 3,
      'already present': 1,
      rejected: 5,
    });
    assert.deepEqual(rejectedLines(first.stdout), [
      'line 4: externalId: no such member',
      'line 5: points: expected a positive whole number',
      'line 6: points: expected a positive whole number',
      'line 8: grantId: already used for another grant',
      'line 9: externalId: the member is closed',
    ]);

    const entries = await t
      .db<Entry>('ledger_entries')
      .where({ member_id: one.id })
      .orderBy('id')
      .select(
        'id',
        'kind',
        'amount',
        'available_delta',
        'reason',
        'actor',
        'dedupe_key',
        'rule_version',
        'created_at',
      );
    assert.deepEqual(
      entries.map((e) => [e.kind, e.amount, e.available_delta, e.reason, e.actor, e.dedupe_key]),
      [
        [
          'adjustment',
          100,
          100,
          `grant ${g1}: welcome bonus`,
          'import:grants-2026.csv',
          `grant:${g1}`,
        ],
        [
          'adjustment',
          25,
          25,
          `grant ${g7}: migrated, from the old system`,
          'import:grants-2026.csv',
          `grant:${g7}`,
        ],
      ],
    );
    // Each credit is an active lot expiring by the policy of the rule set it was made under.
    for (const entry of entries) {
      const lot = await t.db('lots').where({ entry_id: entry.id }).first();
      assert.equal(lot.status, 'active');
      assert.equal(lot.remaining, entry.amount);
      const ruleSet = await t.db('rule_sets').where({ version: entry.rule_version }).first();
      const lifetime = ms(programSchema.parse(ruleSet.program).expiry.lotLifetime);
      assert.equal(lot.expires_at.getTime(), entry.created_at.getTime() + lifetime);
      const event = await t
        .db('program_events')
        .where({ dedupe_key: `points.adjusted:${entry.id}` })
        .first();
      assert.equal(event.type, 'points.adjusted');
      assert.equal(event.payload.actor, 'import:grants-2026.csv');
    }

    const balances = async () =>
      Promise.all(
        [one, two, closed].map(
          async (m) => (await t.api('GET', `/members/${m.id}`)).body.balance.available as number,
        ),
      );
    assert.deepEqual(await balances(), [125, 50, 0]);
    for (const m of [one, two, closed]) {
      const audit = await t.api('GET', `/members/${m.id}/audit`);
      assert.equal(audit.status, 200, JSON.stringify(audit.body));
      assert.equal(audit.body.consistent, true, JSON.stringify(audit.body.problems));
    }

    const second = await runImport('grants', file);
    assert.equal(second.code, 65, second.stderr);
    assert.deepEqual(counts(second.stdout), {
      'rows read': 9,
      imported: 0,
      'already present': 4,
      rejected: 5,
    });
    assert.deepEqual(await balances(), [125, 50, 0]);
    const count = await t.db('ledger_entries').where({ member_id: one.id }).count({ n: '*' });
    assert.equal(Number(count[0]!.n), 2);
  });

  it('exits 64 on bad usage, 66 when the file cannot be read, 65 on a wrong header', async () => {
    const help = await runImport('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit status:/);

    const usage = await runImport('points', 'x.csv');
    assert.equal(usage.code, 64);
    assert.match(usage.stderr, /expected members or grants; got 'points'/);
    assert.equal((await runImport('members')).code, 64);

    const missing = await runImport('members', path.join(dir, 'missing.csv'));
    assert.equal(missing.code, 66);
    assert.match(missing.stderr, /cannot read .*missing\.csv/);

    const header = await runImport('grants', csv('wrong.csv', ['grantId,member,points', 'a,b,1']));
    assert.equal(header.code, 65);
    assert.match(header.stderr, /line 1: unknown column 'member'/);
  });
});
