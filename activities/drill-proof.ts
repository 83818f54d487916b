/** recordDrillProof: `<backup id>.drill.json` next to the backup in the store it was read from: the evidence that it restores. */
import { ApplicationFailure } from '@temporalio/common';
import { manifestKey } from '../common/backup-keys.js';
import { parseBackupId } from '../common/backup-id.js';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import type { DrillProof } from '../common/types.js';
import { rejectingInput } from './failures.js';
import { namedStore } from './store/open-stores.js';

export type ProofRecording = { recorded: true } | { recorded: false; why: string };

/**
 * Writes the proof, unless retention deleted the backup while it was being drilled (no orphan
 * proofs). A store this worker may only read (a read-only mount, a read-only S3 key: a restore
 * worker kept apart from the backups' writer) does not fail a drill that proved the backup: the
 * proof stays in the drill's result and history, and the result says why it is not in the store.
 */
export async function recordDrillProof(config: Config, proof: DrillProof): Promise<ProofRecording> {
  const { database, id } = await rejectingInput(config, async () => parseBackupId(proof.backupId));
  const store = namedStore(config, proof.store);
  if (!(await store.stat(manifestKey(database, id)))) return { recorded: false, why: 'the backup was deleted by retention during the drill' };
  try {
    await store.put(`${database}/${id}.drill.json`, JSON.stringify(proof, null, 2) + '\n');
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === FailureType.StoreAccessDenied) return { recorded: false, why: `the store refused it: ${err.message}` };
    throw err;
  }
  return { recorded: true };
}
