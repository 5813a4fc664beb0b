/**
 * The fuzzer (test/support/fuzz.ts) against the whole API as served, from its own `/openapi.json`:
 * FUZZ_PER_OPERATION requests per operation (25 under `npm test`, several hundred under
 * `npm run fuzz`), with real API keys of every role. No request may answer 5xx. The seed is
 * printed; LOYALTY_FUZZ_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestContext, type TestContext } from './support/context';
import { describeFinding, fuzz } from './support/fuzz';
import { publishProgram } from './support/ledger';
import { redemptionProgram } from './support/redemptions';

const seed = Number(process.env.LOYALTY_FUZZ_SEED ?? 20261208);
const perOperation = Number(process.env.FUZZ_PER_OPERATION ?? 25);

describe('fuzzing the API from its OpenAPI document', () => {
  let t: TestContext;
  before(async () => {
    t = await startTestContext('fuzz', {}, { partners: {} });
    await publishProgram(t, redemptionProgram);
  });
  after(async () => {
    await t.stop();
  });

  it(`answers no request with a 5xx (seed ${seed}, ${perOperation} per operation)`, async () => {
    process.stdout.write(
      `# fuzz: LOYALTY_FUZZ_SEED=${seed} FUZZ_PER_OPERATION=${perOperation} replays this run\n`,
    );
    const openApi = (await t.api('GET', '/openapi.json', { key: null })).body;
    const { sent, findings, statuses } = await fuzz({
      baseUrl: t.baseUrl,
      openApi,
      keys: t.keys,
      seed,
      perOperation,
    });
    process.stdout.write(
      `# fuzz: ${sent} requests, ${findings.length} answered 5xx; by status ${JSON.stringify(statuses)}\n`,
    );
    assert.ok(sent >= 25 * 50 || perOperation < 25, `only ${sent} requests were made`);
    for (const finding of findings.slice(0, 30))
      process.stdout.write(`# ${describeFinding(finding).replaceAll('\n', '\n#   ')}\n`);
    assert.equal(
      findings.length,
      0,
      `${findings.length} requests answered 5xx (printed above; LOYALTY_FUZZ_SEED=${seed} replays)`,
    );
  });
});
