import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { pgToolPath } from '../activities/postgres/pg-tools.js';
import { pgTool, pgToolEnv, testCluster } from './helpers/cluster.js';
import { testConfig } from './helpers/config.js';
import { startDevServer, withWorker } from './helpers/temporal.js';
import { tempDir } from './helpers/temp-dirs.js';
import { rootFailure, runBackup } from './helpers/workflows.js';

describe('pg tool versions', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startDevServer();
  });
  after(async () => {
    await env?.teardown();
  });

  it('a pg_dump older than the server fails at once, naming both versions and the fix', async () => {
    // A real pg_dump (the server's own version) behind a wrapper that reports an old major version,
    // as an old client package would.
    const realPgDump = path.join(testCluster().binDir, 'pg_dump');
    const dir = tempDir('oldbin');
    await writeFile(
      path.join(dir, 'pg_dump'),
      `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 12.22"; exit 0; fi\nexec ${realPgDump} "$@"\n`,
    );
    await chmod(path.join(dir, 'pg_dump'), 0o755);
    const config = testConfig({ PG_BIN_DIR: dir });
    const err = await withWorker(env, config, () => runBackup(env, config, 'postgres').catch((e: unknown) => e));
    assert.ok(err instanceof WorkflowFailedError);
    const failure = rootFailure(err);
    assert.equal(failure.type, 'PgToolTooOld');
    assert.match(failure.message, /pg_dump 12 \("pg_dump \(PostgreSQL\) 12\.22"\) is older than the server \(PostgreSQL 1\d\.\d+/);
    assert.match(failure.message, /install the PostgreSQL 1\d client tools or set PG_BIN_DIR/);
  });

  it('without PG_BIN_DIR the tools of the server\'s major version are used when installed', async () => {
    const config = testConfig();
    const tool = await pgToolPath(config, 'pg_dump');
    const major = execFileSync(pgTool('psql'), ['-X', '-h', config.db.host, '-p', String(config.db.port), '-Atc', 'show server_version_num'], {
      encoding: 'utf8',
      env: pgToolEnv(),
    }).trim();
    const debianDir = `/usr/lib/postgresql/${Math.floor(Number(major) / 10_000)}/bin`;
    assert.equal(tool, existsSync(debianDir) ? `${debianDir}/pg_dump` : 'pg_dump');
  });
});
