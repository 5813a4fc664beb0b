/**
 * Recorded workflow histories for the replay test (test/replay.test.ts). With
 * `LOYALTY_RECORD_HISTORIES=<folder>` set (`npm run histories:record`), each test file's context
 * saves, when it stops, the histories of the workflows its run left on the server: one file per
 * distinct shape (the sequence of event types) of each workflow type, at most `perType` of them.
 * Committed histories are replayed against the current workflow code on every `npm test`, so a
 * change that would break a running workflow fails the suite.
 *
 * A history is kept as the JSON `temporal workflow show --output json` writes (and Temporal UI
 * downloads), so one exported from production replays the same way: `<shape>-<id>.json`, with the
 * workflow id beside it in `<shape>-<id>.id` (a history does not name its workflow).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';

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
    const existing = fs.readdirSync(dir).filter((file) => file.endsWith('.json'));
    if (existing.length >= perType) continue;
    const history = await client.workflow.getHandle(info.workflowId, info.runId).fetchHistory();
    const shape = createHash('sha256')
      .update((history.events ?? []).map((e) => String(e.eventType)).join(','))
      .digest('hex')
      .slice(0, 12);
    if (existing.some((file) => file.startsWith(`${shape}-`))) continue;
    const name = `${shape}-${safe(info.workflowId)}`;
    fs.writeFileSync(path.join(dir, `${name}.json`), `${historyToJSON(history)}\n`);
    fs.writeFileSync(path.join(dir, `${name}.id`), `${info.workflowId}\n`);
  }
}

/** Every recorded history under `folder`, with its workflow id and the file it came from. */
export function loadHistories(folder: string) {
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const idFile = path.join(folder, file.replace(/\.json$/, '.id'));
      return {
        file,
        workflowId: fs.existsSync(idFile) ? fs.readFileSync(idFile, 'utf8').trim() : 'replayed',
        history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(folder, file), 'utf8'))),
      };
    });
}
