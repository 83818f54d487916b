/** Configuration for one test: the run's own PostgreSQL, a fresh BACKUP_DIR and a task queue of its own. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseConfig, type Config } from '../../common/config.js';
import { testCluster } from './cluster.js';
import { tempDir } from './temp-dirs.js';

/**
 * BACKUP_DIR is `backups/` inside a temporary directory of its own, so a test can check that
 * nothing was written beside it either, without looking at anything it did not create.
 */
export function testConfig(env: Record<string, string> = {}): Config {
  const cluster = testCluster();
  return parseConfig(
    {
      DB_HOST: cluster.host,
      DB_PORT: String(cluster.port),
      DB_USER: cluster.user,
      DB_PASSWORD: cluster.password,
      BACKUP_DIR: env.BACKUP_DIR ?? newBackupDir(),
      TASK_QUEUE: `test-${randomUUID()}`,
      LOG_LEVEL: 'warn',
      ...env,
    },
    (p) => path.resolve(p),
  );
}

function newBackupDir(): string {
  const dir = path.join(tempDir('test'), 'backups');
  mkdirSync(dir);
  return dir;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
}
