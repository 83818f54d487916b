/** What a workflow reports when it ends: feeds metrics and the notification webhook. */
import type { Operation, Outcome } from './search-attributes.js';

export interface OutcomeReport {
  operation: Operation;
  database: string;
  outcome: Outcome;
  workflowId: string;
  runId: string;
  durationMs: number;
  error?: string;
  backupId?: string;
  sizeBytes?: number;
}
