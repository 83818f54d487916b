/**
 * validateStaging: before the swap, prove the staging database holds what the backup promised:
 * every table of the manifest (read in the dump's own snapshot) is present. Exact row counts in
 * staging are compared with the source's planner estimates; since estimates can be stale (a queue
 * table just emptied), differences are warnings in the result, never a refusal of a good backup.
 */
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { quoteIdent } from '../common/sql.js';
import type { RestoreValidation } from '../common/types.js';
import { parseManifest, type BackupManifest } from '../common/manifest.js';
import { failure, pgClientFailure } from './failures.js';
import { heartbeatEvery } from './heartbeat.js';
import { assertStagingName } from './postgres/database-admin.js';
import { readTableEstimates, withClient } from './postgres/pg-client.js';
import { namedStore } from './store/open-stores.js';

export interface ValidateRequest {
  staging: string;
  /** The backup's manifest, read from its store (its table list can be too large for workflow history). */
  manifest: { store: string; key: string; id: string } | null;
}

async function readManifest(config: Config, ref: NonNullable<ValidateRequest['manifest']>): Promise<BackupManifest> {
  const text = await namedStore(config, ref.store).getText(ref.key);
  if (text === undefined) throw failure(config, FailureType.BackupNotFound, `the manifest of ${ref.id} disappeared from ${ref.store} during the restore; the target was not touched`);
  return parseManifest(text, ref.id) as BackupManifest;
}

/** Differences of estimates and counts smaller than this are noise, not worth a warning. */
const ROW_DRIFT_ALLOWED = 1_000;

export async function validateStaging(config: Config, req: ValidateRequest): Promise<RestoreValidation> {
  assertStagingName(config, req.staging);
  const counts = new Map<string, number>();
  // Counting a big table takes a while, and a store may be slow to hand the manifest over:
  // heartbeats keep the activity alive and cancellable, so its own failure is the one heard.
  const stopHeartbeat = heartbeatEvery(1_000, () => ({ phase: 'validating', items: counts.size }));
  let manifest: BackupManifest | undefined;
  try {
    manifest = req.manifest ? await readManifest(config, req.manifest) : undefined;
    await withClient(config, req.staging, async (client) => {
      for (const t of await readTableEstimates(client)) {
        const { rows } = await client.query<{ n: string }>(`select count(*) as n from ${quoteIdent(t.schema)}.${quoteIdent(t.name)}`);
        counts.set(`${t.schema}.${t.name}`, Number(rows[0]!.n));
      }
    });
  } catch (err) {
    throw pgClientFailure(config, req.staging, err); // a store's failure passes as it is
  } finally {
    stopHeartbeat();
  }
  // No manifest (an archive restored by key): resolveBackup's warning already says what was not compared.
  const warnings: string[] = [];
  const missing: string[] = [];
  for (const t of manifest?.tables ?? []) {
    const name = `${t.schema}.${t.name}`;
    const count = counts.get(name);
    if (count === undefined) missing.push(name);
    else if (count === 0 && t.rowEstimate !== null && t.rowEstimate > 0) {
      warnings.push(`${name}: restored empty, the source's estimate was ${t.rowEstimate} rows`);
    } else if (t.rowEstimate !== null && Math.abs(count - t.rowEstimate) > Math.max(ROW_DRIFT_ALLOWED, t.rowEstimate * 0.5)) {
      warnings.push(`${name}: ${count} rows restored, the source's estimate was ${t.rowEstimate}`);
    }
  }
  if (missing.length > 0) {
    throw failure(
      config,
      FailureType.ValidationFailed,
      `the restored copy lacks tables the backup's manifest lists: ${missing.join(', ')}. The target was not touched`,
    );
  }
  return { tables: counts.size, rows: [...counts.values()].reduce((a, b) => a + b, 0), warnings };
}
