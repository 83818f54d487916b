/** Connecting the CLI to Temporal, and links into the Web UI. */
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../common/config.js';
import { CliError } from './cli-error.js';

export async function connectClient(config: Config): Promise<Client> {
  try {
    const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: '5s' });
    return new Client({ connection, namespace: config.temporal.namespace });
  } catch (err) {
    throw new CliError(
      `cannot reach Temporal at ${config.temporal.address} (${(err as Error).message}); start it with \`npm run up\` or set TEMPORAL_ADDRESS`,
    );
  }
}

export function workflowUrl(config: Config, workflowId: string, runId?: string): string {
  const ns = encodeURIComponent(config.temporal.namespace);
  const id = encodeURIComponent(workflowId);
  return `${config.temporal.uiUrl}/namespaces/${ns}/workflows/${id}${runId ? `/${runId}/history` : ''}`;
}
