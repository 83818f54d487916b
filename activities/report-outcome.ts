/**
 * The end of every run, in two activities: recordOutcomeMetrics records pgkeeper's Prometheus
 * metrics (through Temporal's metric meter, so they are served with the runtime's own metrics),
 * once: it is never retried, so a run is counted once however often the webhook fails.
 * notifyOutcome posts a Slack-compatible message to NOTIFY_WEBHOOK_URL on failure (or always,
 * with NOTIFY_ON=always), with a few retries. The webhook URL often embeds a token: it never
 * appears in an error or log line.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../common/config.js';
import type { OutcomeReport } from '../common/outcome-report.js';

export function recordOutcomeMetrics(report: OutcomeReport): void {
  const meter = Context.current().metricMeter;
  const tags = { database: report.database, operation: report.operation };
  if (report.outcome === 'completed') {
    meter.createGauge('pgkeeper_last_success_timestamp_seconds', 'float', 's', 'When the last successful run of this operation on this database ended').withTags(tags).set(Date.now() / 1000);
    meter.createHistogram('pgkeeper_duration_seconds', 'float', 's', 'Duration of successful runs').withTags(tags).record(report.durationMs / 1000);
    if (report.sizeBytes !== undefined) {
      meter.createGauge('pgkeeper_backup_size_bytes', 'int', 'By', 'Size of the newest backup archive').withTags(tags).set(report.sizeBytes);
    }
  } else if (report.outcome === 'failed') {
    meter.createCounter('pgkeeper_failures_total', '1', 'Failed runs').withTags(tags).add(1);
  } else if (report.outcome === 'skipped') {
    meter.createCounter('pgkeeper_skipped_total', '1', 'Runs skipped because another operation held the database').withTags(tags).add(1);
  }
}

function notificationBody(config: Config, report: OutcomeReport) {
  const url = `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(report.workflowId)}/${report.runId}/history`;
  const what = `${report.operation} of ${report.database}`;
  const text =
    report.outcome === 'failed'
      ? `:red_circle: pgkeeper: ${what} FAILED: ${report.error ?? 'unknown error'} (workflow ${report.workflowId}, ${url})`
      : `:large_green_circle: pgkeeper: ${what} ${report.outcome}${report.backupId ? ` (${report.backupId})` : ''} (workflow ${report.workflowId})`;
  return {
    text,
    pgkeeper: {
      database: report.database,
      operation: report.operation,
      outcome: report.outcome,
      error: report.error ?? null,
      backupId: report.backupId ?? null,
      workflowId: report.workflowId,
      runId: report.runId,
      url,
    },
  };
}

export async function notifyOutcome(config: Config, report: OutcomeReport): Promise<{ notified: boolean }> {
  const wanted = report.outcome === 'failed' || (config.notify.on === 'always' && report.outcome === 'completed');
  if (!config.notify.webhookUrl || !wanted) return { notified: false };
  let response: Response;
  try {
    response = await fetch(config.notify.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(notificationBody(config, report)),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    const reason = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw ApplicationFailure.retryable(`notification webhook unreachable (${reason}); check NOTIFY_WEBHOOK_URL`, 'NotifyFailed');
  }
  if (!response.ok) throw ApplicationFailure.retryable(`notification webhook answered HTTP ${response.status}`, 'NotifyFailed');
  return { notified: true };
}
