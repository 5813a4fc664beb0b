/**
 * Every recorded history (test/histories/, recorded by `npm run histories:record`) replays
 * against today's workflow code without a nondeterminism error: a workflow change that would break
 * runs already in the field (a missing `patched()`) fails here.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { loadHistories } from './support/histories';

const folder = path.join(__dirname, 'histories');
const histories = loadHistories(folder);

describe('workflow replay', () => {
  it('has recorded histories of every workflow type', () => {
    const types = new Set(histories.map((h) => h.file.split(path.sep)[0]));
    for (const type of [
      'memberWorkflow',
      'redemptionWorkflow',
      'substitutionWorkflow',
      'returnWorkflow',
      'webhookDeliveryWorkflow',
      'ruleChangeWorkflow',
      'simulationWorkflow',
      'launchWorkflow',
    ]) {
      assert.ok(types.has(type), `no recorded history of ${type} in test/histories/`);
    }
  });

  it('replays every recorded history against the current workflow code', async () => {
    const bundlePath = process.env.LOYALTY_TEST_WORKFLOW_BUNDLE;
    const failures: string[] = [];
    const results = Worker.runReplayHistories(
      bundlePath
        ? { workflowBundle: { codePath: bundlePath }, replayName: 'replay-test' }
        : { workflowsPath: require.resolve('../workflows'), replayName: 'replay-test' },
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
});
