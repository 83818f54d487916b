/**
 * verifyBackups: read every stored archive back and hold it against its manifest, in every store
 * (or one), recording damage where it is found (activities/verify-archives.ts). Started by
 * `pgkeeper verify` or from the UI; one activity, retried as a whole if its worker dies.
 */
import { defineQuery, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { VerifyResult } from '../common/types.js';
import { normalizeVerifyInput, type VerifyInput } from '../common/verify-input.js';
import { longRunning } from './activity-options.js';
import { phaseClock } from './phase-clock.js';
import { rejectInput } from './reject-input.js';

const { verifyArchives } = proxyActivities<Activities>(longRunning);

const verifyProgressQuery = defineQuery<{ phase: string; phaseStartedAt: string }>('progress');

export async function verifyBackups(input: VerifyInput = {}): Promise<VerifyResult> {
  const req = rejectInput(() => normalizeVerifyInput(input));
  const clock = phaseClock('reading the archives back');
  setHandler(verifyProgressQuery, () => clock.current());
  return verifyArchives(req);
}
