/**
 * verifyBackups: read every stored archive back and hold it against its manifest, in every store
 * (or one), recording damage where it is found (activities/verify-archives.ts). Started by
 * `pgkeeper verify`, from the UI or a schedule; one activity, retried as a whole if its worker dies.
 * Damage found, an archive that could not be read or a store that did not answer fails the run
 * (as a failed drill does), so it notifies and shows in `pgkeeper history`; the whole result
 * travels in the failure's details.
 */
import { ApplicationFailure, defineQuery, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { FailureType } from '../common/errors.js';
import { ALL_DATABASES } from '../common/search-attributes.js';
import type { VerifyResult } from '../common/types.js';
import { normalizeVerifyInput, type VerifyInput } from '../common/verify-input.js';
import { longRunning } from './activity-options.js';
import { audited } from './audit.js';
import { phaseClock } from './phase-clock.js';
import { rejectInput } from './reject-input.js';

const { verifyArchives } = proxyActivities<Activities>(longRunning);

const verifyProgressQuery = defineQuery<{ phase: string; phaseStartedAt: string }>('progress');

/**
 * What needs a person, one phrase each; the first few named, the rest counted. A database named
 * but backed up nowhere is one (a misspelt name in a cron line must not pass for ever).
 */
function needsAttention(result: VerifyResult): string[] {
  const all = [
    ...result.problems.map((a) => `${a.id} ${a.verdict.toUpperCase()} in ${a.store} (${a.reason})`),
    ...result.unreachable.map((u) => `${u.store} could not be read (${u.reason})`),
    ...(result.database !== undefined && archivesOf(result) === 0 && result.unreachable.length === 0 ? [`no backups of "${result.database}" in ${result.stores.join(', ')}`] : []),
  ];
  const more = all.length - 5 + result.problemsNotListed;
  return more > 0 ? [...all.slice(0, 5), `and ${more} more`] : all;
}

const archivesOf = (result: VerifyResult) => result.intact + result.problems.length + result.problemsNotListed;

/** Damage first: it is what the person must act on; a store failing to answer is not the backups' fault. */
function failureType(result: VerifyResult): FailureType {
  if (result.problems.some((a) => a.verdict === 'damaged') || result.problemsNotListed > 0) return FailureType.BackupDamaged;
  if (result.problems.length > 0 || result.unreachable.length > 0) return FailureType.StoreUnavailable;
  return FailureType.BackupNotFound;
}

export async function verifyBackups(input: VerifyInput = {}, ...extra: unknown[]): Promise<VerifyResult> {
  // A refused run is filed under the database it names, or under (all) as a whole-store run is.
  const named = typeof input === 'object' && input !== null && 'database' in input;
  const req = rejectInput(() => normalizeVerifyInput(input), { operation: 'verify', input, extra, ...(named ? { databaseField: 'database' } : { database: ALL_DATABASES }) });
  return audited(
    'verify',
    req.database ?? ALL_DATABASES,
    async () => {
      const clock = phaseClock('reading the archives back');
      setHandler(verifyProgressQuery, () => clock.current());
      const result = await verifyArchives(req);
      const found = needsAttention(result);
      if (found.length > 0) {
        throw ApplicationFailure.create({
          message: `verify of ${archivesOf(result)} archives in ${result.stores.join(', ')}: ${found.join('; ')}`,
          type: failureType(result),
          nonRetryable: true,
          details: [result],
        });
      }
      return result;
    },
    () => ({ outcome: 'completed' }),
  );
}
