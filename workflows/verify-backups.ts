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
function problems(result: VerifyResult): string[] {
  const all = [
    ...result.problems.map((a) => `${a.id} ${a.verdict.toUpperCase()} in ${a.store} (${a.reason})`),
    ...result.unreachable.map((u) => `${u.store} could not be read (${u.reason})`),
    ...(result.database !== undefined && result.intact + result.problems.length === 0 && result.unreachable.length === 0 ? [`no backups of "${result.database}" in ${result.stores.join(', ')}`] : []),
  ];
  return all.length > 5 ? [...all.slice(0, 5), `and ${all.length - 5} more`] : all;
}

export async function verifyBackups(input: VerifyInput = {}, ...extra: unknown[]): Promise<VerifyResult> {
  const req = rejectInput(() => normalizeVerifyInput(input), { operation: 'verify', input, extra, databaseField: 'database' });
  return audited(
    'verify',
    req.database ?? ALL_DATABASES,
    async () => {
      const clock = phaseClock('reading the archives back');
      setHandler(verifyProgressQuery, () => clock.current());
      const result = await verifyArchives(req);
      const found = problems(result);
      if (found.length > 0) {
        throw ApplicationFailure.create({
          message: `verify of ${result.intact + result.problems.length} archives in ${result.stores.join(', ')}: ${found.join('; ')}`,
          type: result.problems.length > 0 ? FailureType.BackupDamaged : result.unreachable.length > 0 ? FailureType.StoreUnavailable : FailureType.BackupNotFound,
          nonRetryable: true,
          details: [result],
        });
      }
      return result;
    },
    () => ({ outcome: 'completed' }),
  );
}
