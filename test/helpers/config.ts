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
  const full: Record<string, string> = {
    DB_HOST: cluster.host,
    DB_PORT: String(cluster.port),
    DB_USER: cluster.user,
    DB_PASSWORD: cluster.password,
    ...(env.BACKUP_STORE === undefined ? { BACKUP_DIR: env.BACKUP_DIR ?? newBackupDir() } : {}),
    TASK_QUEUE: `test-${randomUUID()}`,
    LOG_LEVEL: 'warn',
    ...env,
  };
  const config = parseConfig(full, (p) => path.resolve(p));
  environments.set(config, full);
  return config;
}

const environments = new WeakMap<Config, Record<string, string>>();

/** The environment a worker process needs to run with `config` (tests spawn workers to kill them). */
export function workerEnvironment(config: Config): Record<string, string> {
  const env = environments.get(config);
  if (!env) throw new Error('workerEnvironment: config was not made by testConfig');
  return { ...env, TASK_QUEUE: config.temporal.taskQueue };
}

/** The directory of a test's local primary store. */
export function backupDir(config: Config): string {
  const primary = config.stores.primary;
  if (primary.kind !== 'file') throw new Error(`the primary store of this test is ${primary.url}, not a directory`);
  return primary.path;
}

function newBackupDir(): string {
  const dir = path.join(tempDir('test'), 'backups');
  mkdirSync(dir);
  return dir;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
}
