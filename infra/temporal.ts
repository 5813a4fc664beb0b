import { Client, Connection } from '@temporalio/client';
import type { AppConfig } from '../config';
import { dataConverterOf } from './payload-codec';

/**
 * A lazy client: the API starts, and `/health` reports, while Temporal is still coming up or is
 * down; the connection is made on first use.
 */
export function createTemporalClient(config: AppConfig): Client {
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
  return new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: dataConverterOf(config),
  });
}

export function workflowUrl(config: AppConfig, workflowId: string): string {
  const base = config.TEMPORAL_UI_URL.replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(config.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(workflowId)}`;
}
