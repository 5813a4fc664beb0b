/**
 * Recorded workflow histories for the replay test (test/replay.test.ts). With
 * `LOYALTY_RECORD_HISTORIES=<folder>` set (`npm run histories:record`), each test file's context
 * saves, when it stops, the histories of the workflows its run left on the server: one file per
 * distinct shape (the sequence of event types) of each workflow type, at most `perType` of them.
 * Committed histories are replayed against the current workflow code on every `npm test`, so a
 * change that would break a running workflow fails the suite.
 *
 * Histories are kept as binary protobuf (`.binpb`, `temporal.api.history.v1.History`): the SDK's
 * JSON reader (`historyFromJSON`) fails in this install, where `@temporalio/common` and
 * `@temporalio/proto` each carry their own copy of protobufjs.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const History = temporal.api.history.v1.History;
const perType = 6;

const safe = (value: string): string => value.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);

export async function recordHistories(
  client: Client,
  taskQueue: string,
  folder: string,
): Promise<void> {
  const workflows = client.workflow.list({ query: `TaskQueue = "${taskQueue}"` });
  for await (const info of workflows) {
    const dir = path.join(folder, info.type);
    fs.mkdirSync(dir, { recursive: true });
    const existing = fs.readdirSync(dir).filter((file) => file.endsWith('.binpb'));
    if (existing.length >= perType) continue;
    const history = await client.workflow.getHandle(info.workflowId, info.runId).fetchHistory();
    const shape = createHash('sha256')
      .update((history.events ?? []).map((e) => String(e.eventType)).join(','))
      .digest('hex')
      .slice(0, 12);
    if (existing.some((file) => file.startsWith(`${shape}-`))) continue;
    const name = `${shape}-${safe(info.workflowId)}`;
    fs.writeFileSync(path.join(dir, `${name}.binpb`), History.encode(history).finish());
    fs.writeFileSync(path.join(dir, `${name}.id`), `${info.workflowId}\n`);
  }
}

/** Every recorded history under `folder`, with its workflow id and the file it came from. */
export function loadHistories(folder: string) {
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.binpb'))
    .sort()
    .map((file) => {
      const idFile = path.join(folder, file.replace(/\.binpb$/, '.id'));
      return {
        file,
        workflowId: fs.readFileSync(idFile, 'utf8').trim(),
        history: History.decode(fs.readFileSync(path.join(folder, file))),
      };
    });
}
