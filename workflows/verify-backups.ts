/**
 * verifyBackups: read every stored archive back and hold it against its manifest, in every store
 * (or one), recording damage where it is found (activities/verify-archives.ts). Started by
 * `pgkeeper verify`, from the UI or a schedule; one activity, whose retry (its worker died) goes on
 * where the last attempt stopped.
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

const archivesOf = (result: VerifyResult) => result.intact + result.problems.length + result.problemsNotListed;

/**
 * The failure's message when something needs a person, else undefined: the counts first, then
 * the first few by name (the reasons are in the result, in the failure's details), then where to
 * look. A store holding no backup is one (unmounted, a wrong prefix; a database name misspelt in a
 * cron line), as is a store that could not be read.
 */
function attentionMessage(result: VerifyResult): string | undefined {
  const of = result.database !== undefined ? ` of "${result.database}"` : '';
  const count = (n: number, what: string) => (n > 0 ? [`${n} ${what}`] : []);
  const damaged = result.damaged ?? result.problems.filter((p) => p.verdict === 'damaged').length;
  const unreadable = result.unreadable ?? result.problems.length - damaged;
  const counts = [
    ...count(damaged, 'DAMAGED'),
    ...count(unreadable, 'UNREADABLE'),
    ...(result.damaged === undefined ? count(result.problemsNotListed, 'more problems') : []),
    ...count(result.unreachable.length, `store${result.unreachable.length > 1 ? 's' : ''} not readable`),
    ...count(result.empty.length, `store${result.empty.length > 1 ? 's' : ''} holding no backups${of}`),
  ];
  if (counts.length === 0) return undefined;
  const named = [
    ...result.problems.map((p) => `${p.id} ${p.verdict.toUpperCase()} in ${p.store}`),
    ...result.unreachable.map((u) => `${u.store} not readable (${u.reason})`),
    ...result.empty.map((store) => `no backups${of} in ${store}`),
  ];
  const shown = named.length > 5 ? [...named.slice(0, 5), `and ${named.length - 5} more`] : named;
  return `verify found ${counts.join(', ')} among ${archivesOf(result)} archives: ${shown.join('; ')}. \`pgkeeper verify --wait\` says why for each; \`pgkeeper backups\` shows where each backup is intact`;
}

/** Damage first: it is what the person must act on; a store failing to answer is not the backups' fault. */
function failureType(result: VerifyResult): FailureType {
  const damaged = result.damaged ?? result.problems.filter((a) => a.verdict === 'damaged').length + result.problemsNotListed;
  if (damaged > 0) return FailureType.BackupDamaged;
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
      const message = attentionMessage(result);
      if (message !== undefined) {
        throw ApplicationFailure.create({
          message,
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
