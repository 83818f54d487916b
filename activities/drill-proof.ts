/** recordDrillProof: `<backup id>.drill.json` next to the backup in the store it was read from: the evidence that it restores. */
import { manifestKey } from '../common/backup-keys.js';
import { parseBackupId } from '../common/backup-id.js';
import type { Config } from '../common/config.js';
import type { DrillProof } from '../common/types.js';
import { rejectingInput } from './failures.js';
import { namedStore } from './store/open-stores.js';

/** Writes the proof, unless retention deleted the backup while it was being drilled (no orphan proofs). */
export async function recordDrillProof(config: Config, proof: DrillProof): Promise<{ recorded: boolean }> {
  const { database, id } = await rejectingInput(config, async () => parseBackupId(proof.backupId));
  const store = namedStore(config, proof.store);
  if (!(await store.stat(manifestKey(database, id)))) return { recorded: false };
  await store.put(`${database}/${id}.drill.json`, JSON.stringify(proof, null, 2) + '\n');
  return { recorded: true };
}
