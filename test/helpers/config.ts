/** Configuration for one test: the local PostgreSQL, a fresh BACKUP_DIR and a task queue of its own. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseConfig, type Config } from '../../common/config.js';

export function testConfig(env: Record<string, string> = {}): Config {
  return parseConfig(
    {
      DB_HOST: process.env.DB_HOST ?? '127.0.0.1',
      DB_PORT: process.env.DB_PORT ?? '5432',
      DB_USER: process.env.DB_USER ?? 'postgres',
      BACKUP_DIR: mkdtempSync(path.join(os.tmpdir(), 'pgkeeper-test-')),
      TASK_QUEUE: `test-${randomUUID()}`,
      LOG_LEVEL: 'warn',
      ...env,
    },
    (p) => path.resolve(p),
  );
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
}
