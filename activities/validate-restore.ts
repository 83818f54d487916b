/**
 * validateStaging: before the swap, prove the staging database holds what the backup promised:
 * every table of the manifest is present, and no table the source had rows in came back empty.
 * Exact counts in staging are compared with the source's planner estimates, so small drifts are
 * only reported as warnings.
 */
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { quoteIdent } from '../common/sql.js';
import type { RestoreValidation } from '../common/types.js';
import { assertStagingName } from './database-admin.js';
import { failure, pgClientFailure, rejectingInput } from './failures.js';
import { readManifest } from './backup-store.js';
import { readTableEstimates, withClient } from './pg-client.js';
import { realPathInside } from './resolve-backup.js';

export interface ValidateRequest {
  staging: string;
  manifestPath?: string;
}

/** Below this many estimated rows, an empty table may be a legitimately emptied one. */
const EMPTY_TABLE_THRESHOLD = 1_000;

export async function validateStaging(config: Config, req: ValidateRequest): Promise<RestoreValidation> {
  assertStagingName(config, req.staging);
  const manifest = req.manifestPath
    ? await readManifest(await rejectingInput(config, () => realPathInside(config, req.manifestPath!)))
    : undefined;
  const counts = new Map<string, number>();
  try {
    await withClient(config, req.staging, async (client) => {
      for (const t of await readTableEstimates(client)) {
        const { rows } = await client.query<{ n: string }>(`select count(*) as n from ${quoteIdent(t.schema)}.${quoteIdent(t.name)}`);
        counts.set(`${t.schema}.${t.name}`, Number(rows[0]!.n));
      }
    });
  } catch (err) {
    throw pgClientFailure(config, req.staging, err);
  }
  const warnings: string[] = [];
  if (!manifest) warnings.push('no manifest: tables and row counts were not compared with the source');
  const missing: string[] = [];
  const emptied: string[] = [];
  for (const t of manifest?.tables ?? []) {
    const name = `${t.schema}.${t.name}`;
    const count = counts.get(name);
    if (count === undefined) missing.push(name);
    else if (t.rowEstimate !== null && t.rowEstimate >= EMPTY_TABLE_THRESHOLD && count === 0) emptied.push(`${name} (source ~${t.rowEstimate} rows)`);
    else if (t.rowEstimate !== null && Math.abs(count - t.rowEstimate) > Math.max(EMPTY_TABLE_THRESHOLD, t.rowEstimate * 0.5)) {
      warnings.push(`${name}: ${count} rows restored, the source's estimate was ${t.rowEstimate}`);
    }
  }
  if (missing.length > 0 || emptied.length > 0) {
    throw failure(
      config,
      FailureType.ValidationFailed,
      `the restored copy does not match the backup's manifest` +
        (missing.length ? `; tables missing: ${missing.join(', ')}` : '') +
        (emptied.length ? `; tables empty: ${emptied.join(', ')}` : '') +
        '. The target was not touched',
    );
  }
  return { tables: counts.size, rows: [...counts.values()].reduce((a, b) => a + b, 0), warnings };
}
