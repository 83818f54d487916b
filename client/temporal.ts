/** Connecting the CLI to Temporal, and links into the Web UI. */
import { Client, Connection } from '@temporalio/client';
import { ConfigError, type Config } from '../common/config.js';
import { CliError } from './cli-error.js';
import { temporalConnectionOptions, type TemporalConnectionOptions } from './temporal-connection-options.js';
import { tcpReason } from './tcp-reason.js';
import { tlsFailureMessage } from './tls-failure-message.js';

export async function connectClient(config: Config): Promise<Client> {
  let options: TemporalConnectionOptions;
  try {
    options = await temporalConnectionOptions(config.temporal);
  } catch (err) {
    // A TLS file that is missing or not PEM is a configuration error, like a bad variable: exit 2.
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
  try {
    const connection = await Connection.connect({ ...options, connectTimeout: '5s' });
    return new Client({ connection, namespace: config.temporal.namespace });
  } catch (err) {
    const tlsProblem = await tlsFailureMessage(err, options, config.temporal.security);
    if (tlsProblem) throw new CliError(tlsProblem);
    const reason = config.temporal.security.tls ? undefined : await tcpReason(config.temporal.address);
    throw new CliError(`cannot reach Temporal at ${config.temporal.address} (${reason ?? (err as Error).message}); start it with \`npm run up\` or set TEMPORAL_ADDRESS`);
  }
}

export function workflowUrl(config: Config, workflowId: string, runId?: string): string {
  const ns = encodeURIComponent(config.temporal.namespace);
  const id = encodeURIComponent(workflowId);
  return `${config.temporal.uiUrl}/namespaces/${ns}/workflows/${id}${runId ? `/${runId}/history` : ''}`;
}
