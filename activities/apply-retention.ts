/**
 * applyRetention: plan with the pure planner, then delete. Only complete backups (with a
 * manifest) are candidates, so a streak of failed runs can never push a good backup out.
 * A backup is deleted manifest first, so a crash mid-delete leaves no half backup that looks complete.
 * Leftover `.partial` files older than a day (a crashed worker's) are removed; other files are never touched.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PARTIAL_SUFFIX } from '../common/backup-id.js';
import type { Config } from '../common/config.js';
import { planRetention, type RetentionPolicy } from '../common/retention-plan.js';
import type { RetentionRequest, RetentionResult } from '../common/types.js';
import { listCompleteBackups, removeIfPresent, resolveInside } from './backup-store.js';

const STALE_PARTIAL_MS = 24 * 3_600_000;

async function removeStalePartials(dir: string, nowMs: number): Promise<string[]> {
  const removed: string[] = [];
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.endsWith(PARTIAL_SUFFIX)) continue;
    const file = path.join(dir, name);
    const stat = await fs.stat(file).catch(() => undefined);
    if (stat?.isFile() && nowMs - stat.mtimeMs > STALE_PARTIAL_MS) {
      await removeIfPresent(file);
      removed.push(name);
    }
  }
  return removed;
}

export async function applyRetention(config: Config, req: RetentionRequest): Promise<RetentionResult> {
  const policy: RetentionPolicy = req.policy ?? { maxAgeDays: config.retentionDays };
  const nowMs = Date.now();
  const backups = await listCompleteBackups(config.backupDir, req.database);
  const plan = planRetention(
    backups.map((b) => ({ id: b.manifest.id, createdAtMs: Date.parse(b.manifest.startedAt) })),
    policy,
    nowMs,
  );
  const deleted: string[] = [];
  if (!req.dryRun) {
    for (const decision of plan.filter((d) => d.action === 'delete')) {
      const paths = backups.find((b) => b.manifest.id === decision.id)!.paths;
      await removeIfPresent(paths.manifest);
      await removeIfPresent(paths.dump);
      await removeIfPresent(paths.checksum);
      await removeIfPresent(paths.drillProof);
      deleted.push(decision.id);
    }
  }
  const removedPartials = req.dryRun ? [] : await removeStalePartials(resolveInside(config.backupDir, req.database), nowMs);
  return { policy, kept: plan.filter((d) => d.action === 'keep').length, deleted, removedPartials, plan };
}
