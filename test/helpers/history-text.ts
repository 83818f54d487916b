/** A workflow's whole history as text, for tests that prove a secret is not in it. */
import { execFileSync } from 'node:child_process';
import { temporalCliPath } from './temporal.js';

/**
 * History as JSON from the Temporal CLI (historyToJSON does not work under ESM, NOTES.md), plus
 * every base64 payload decoded, so a secret cannot hide in an encoding.
 */
export function historyText(address: string, workflowId: string): string {
  const json = execFileSync(temporalCliPath(), ['workflow', 'show', '--address', address, '--workflow-id', workflowId, '--output', 'json'], {
    encoding: 'utf8',
  });
  const decoded = [...json.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8'));
  return json + '\n' + decoded.join('\n');
}
