/** recordDrillProof: `<backup id>.drill.json` next to the backup, the evidence that it restores. */
import { promises as fs } from 'node:fs';
import type { Config } from '../common/config.js';
import { parseBackupId } from '../common/backup-id.js';
import type { DrillProof } from '../common/types.js';
import { backupPaths, writeFileAtomic } from './backup-store.js';
import { rejectingInput } from './failures.js';

/** Writes the proof, unless retention deleted the backup while it was being drilled (no orphan proofs). */
export async function recordDrillProof(config: Config, proof: DrillProof): Promise<{ proofPath: string | null }> {
  const { database, id } = await rejectingInput(config, async () => parseBackupId(proof.backupId));
  const paths = backupPaths(config.backupDir, database, id);
  if (!(await fs.stat(paths.manifest).catch(() => undefined))) return { proofPath: null };
  await writeFileAtomic(paths.drillProof, JSON.stringify(proof, null, 2) + '\n');
  return { proofPath: paths.drillProof };
}
