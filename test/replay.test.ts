/**
 * Every recorded history (test/histories/, recorded by `npm run histories:record`) replays
 * against today's workflow code without a nondeterminism error: a workflow change that would break
 * runs already in the field (a missing `patched()`) fails here.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../config';
import { dataConverterOf } from '../infra/payload-codec';
import { memberStateQuery, workflowIds } from '../workflows/shared';
import { eventually, startTestContext } from './support/context';
import { loadHistories } from './support/histories';
import { enrol } from './support/ledger';

const folder = path.join(__dirname, 'histories');
const histories = loadHistories(folder);
const run = promisify(execFile);

/** Encrypted histories replay with the keys that wrote them (plain ones with or without). */
const replayOptions = (config: { PAYLOAD_CODEC_KEYS?: string | undefined } = loadConfig()) => {
  const bundlePath = process.env.LOYALTY_TEST_WORKFLOW_BUNDLE;
  const dataConverter = dataConverterOf(config);
  return bundlePath
    ? { workflowBundle: { codePath: bundlePath }, replayName: 'replay-test', dataConverter }
    : { workflowsPath: require.resolve('../workflows'), replayName: 'replay-test', dataConverter };
};

describe('workflow replay', () => {
  it('has recorded histories of every workflow type', () => {
    const types = new Set(histories.map((h) => h.file.split(path.sep)[0]));
    for (const type of [
      'memberWorkflow',
      'redemptionWorkflow',
      'substitutionWorkflow',
      'returnWorkflow',
      'webhookDeliveryWorkflow',
      'webhookSubscriptionWorkflow',
      'ruleChangeWorkflow',
      'simulationWorkflow',
      'launchWorkflow',
    ]) {
      assert.ok(types.has(type), `no recorded history of ${type} in test/histories/`);
    }
  });

  it('replays every recorded history against the current workflow code', async () => {
    const failures: string[] = [];
    const results = Worker.runReplayHistories(
      replayOptions(),
      histories.map(({ workflowId, history }) => ({ workflowId, history })),
    );
    let replayed = 0;
    for await (const result of results) {
      replayed += 1;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.equal(replayed, histories.length);
    assert.deepEqual(failures, []);
  });

  it('replays a live history as the client fetches it and as the CLI exports it', async () => {
    const t = await startTestContext('replay');
    try {
      const memberId = await enrol(t);
      const handle = t.env.client.workflow.getHandle(workflowIds.member(memberId));
      await eventually('the first lifecycle review', async () => {
        const state = await handle.query(memberStateQuery);
        return state.lastReview ? true : undefined;
      });
      await Worker.runReplayHistory(
        replayOptions(),
        await handle.fetchHistory(),
        handle.workflowId,
      );
      const cli = process.env.TEMPORAL_CLI_PATH ?? 'temporal';
      const { stdout } = await run(cli, [
        'workflow',
        'show',
        '--address',
        loadConfig().TEMPORAL_ADDRESS,
        '--workflow-id',
        handle.workflowId,
        '--output',
        'json',
      ]);
      const exported = JSON.parse(stdout) as { events: unknown[] };
      assert.ok(exported.events.length > 3, 'the CLI exported the history');
      await Worker.runReplayHistory(replayOptions(), exported, handle.workflowId);
    } finally {
      await t.stop();
    }
  });
});
