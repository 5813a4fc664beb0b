/**
 * Temporal's time-skipping test server (a real in-memory Temporal service, see
 * stack/test-server.ts) as `npm test` provides it, with our search attributes registered. Used by
 * the time-skipping test context (./time-skipping.ts) and the workflow harness
 * (./workflow-harness.ts).
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { searchAttributes } from '../../workflows/shared';
import { loadConfig } from '../../config';
import { dataConverterOf } from '../../infra/payload-codec';

const { IndexedValueType } = temporal.api.enums.v1;

function testServerPath(): string {
  const path = process.env.LOYALTY_TEST_SERVER_PATH;
  if (path) return path;
  throw new Error(
    process.env.LOYALTY_TEST_SERVER_ERROR ??
      'LOYALTY_TEST_SERVER_PATH is unset: run this file through `npm test -- <file>`, which provides Temporal’s test server.',
  );
}

/**
 * The test server knows only its built-in search attributes; our workflows upsert their own
 * (`MemberStatus`, `RuleChangeState`, `LaunchState`...), which it refuses unless registered.
 */
async function registerSearchAttributes(env: TestWorkflowEnvironment): Promise<void> {
  const types: Record<string, temporal.api.enums.v1.IndexedValueType> = {
    KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
    DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
    BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  };
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(
      Object.values(searchAttributes).map((key) => {
        const type = types[key.type];
        if (type === undefined) throw new Error(`search attribute ${key.name}: type ${key.type}?`);
        return [key.name, type];
      }),
    ),
  });
}

/** A fresh test server (namespace `default`) with our search attributes; `teardown` stops it. */
export async function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  const server = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testServerPath() } },
    client: { dataConverter: dataConverterOf(loadConfig()) },
  });
  try {
    await registerSearchAttributes(server);
  } catch (err) {
    await server.teardown();
    throw err;
  }
  return server;
}
