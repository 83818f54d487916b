/**
 * Typed search attributes that make every run findable in the Temporal UI and by `pgkeeper
 * history`/`status`, e.g. `PgkDatabase = "app" AND PgkOperation = "restore"`.
 * They must be registered on the server: `npm run up` and the tests do it; `pgkeeper setup` does
 * it on an existing cluster.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const PGK_DATABASE = defineSearchAttributeKey('PgkDatabase', SearchAttributeType.KEYWORD);
export const PGK_OPERATION = defineSearchAttributeKey('PgkOperation', SearchAttributeType.KEYWORD);
export const PGK_BACKUP_ID = defineSearchAttributeKey('PgkBackupId', SearchAttributeType.KEYWORD);
export const PGK_OUTCOME = defineSearchAttributeKey('PgkOutcome', SearchAttributeType.KEYWORD);
/** "schedule" or "manual". */
export const PGK_STARTED_BY = defineSearchAttributeKey('PgkStartedBy', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [PGK_DATABASE, PGK_OPERATION, PGK_BACKUP_ID, PGK_OUTCOME, PGK_STARTED_BY];

export type Operation = 'backup' | 'restore' | 'cluster' | 'retention' | 'drill' | 'verify';
/** 'dry-run': a retention run that only planned (prune --dry-run), so history never shows it as having deleted. */
export type Outcome = 'running' | 'completed' | 'dry-run' | 'skipped' | 'failed' | 'cancelled';

/** The value used for PgkDatabase by whole-server runs. */
export const ALL_DATABASES = '(all)';

/** `--search-attribute Name=Keyword` arguments for `temporal server start-dev`. */
export function devServerSearchAttributeArgs(): string[] {
  return SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]);
}
