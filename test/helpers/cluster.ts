/**
 * The PostgreSQL cluster of this test run, started by scripts/test.sh (scripts/test-cluster.sh)
 * and described by the variables it exports. Tests never fall back to the machine's server.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export interface TestCluster {
  host: string;
  port: number;
  /** The superuser the suite works as. */
  user: string;
  password: string;
  /** A login role without superuser rights, also password-authenticated. */
  role: { user: string; password: string };
  /** A user name the cluster's pg_hba.conf rejects, whatever its password. */
  turnedAway: string;
  dataDir: string;
  logFile: string;
  binDir: string;
  /** The system user that owns the cluster (when the tests run as root); empty: the current user. */
  runAs: string;
}

let cached: TestCluster | undefined;

export function testCluster(): TestCluster {
  if (cached) return cached;
  const need = (name: string): string => {
    const value = process.env[name];
    if (!value) {
      throw new Error(
        `${name} is not set: the tests run against a PostgreSQL cluster of their own, which scripts/test.sh starts; run them with \`npm test\` or \`bash scripts/test.sh test/<file>.test.ts\``,
      );
    }
    return value;
  };
  cached = {
    host: need('DB_HOST'),
    port: Number(need('DB_PORT')),
    user: need('DB_USER'),
    password: need('DB_PASSWORD'),
    role: { user: need('PGKEEPER_TEST_ROLE'), password: need('PGKEEPER_TEST_ROLE_PASSWORD') },
    turnedAway: need('PGKEEPER_TEST_TURNED_AWAY'),
    dataDir: need('PGKEEPER_TEST_PGDATA'),
    logFile: need('PGKEEPER_TEST_PG_LOG'),
    binDir: need('PGKEEPER_TEST_PG_BIN'),
    runAs: process.env.PGKEEPER_TEST_PG_RUN_AS ?? '',
  };
  return cached;
}

/** A pg tool of the cluster's own version (psql, pg_dump, pg_restore), else the one on PATH. */
export function pgTool(name: 'psql' | 'pg_dump' | 'pg_restore'): string {
  const own = path.join(testCluster().binDir, name);
  return existsSync(own) ? own : name;
}

/** Environment for a pg tool run by a test: connected to the test cluster as its superuser. */
export function pgToolEnv(): NodeJS.ProcessEnv {
  const c = testCluster();
  return { ...process.env, PGHOST: c.host, PGPORT: String(c.port), PGUSER: c.user, PGPASSWORD: c.password, PGDATABASE: 'postgres' };
}

/** An empty directory beside the cluster's data, owned by its server, for CREATE TABLESPACE … LOCATION. */
export function tablespaceDirectory(name: string): string {
  const dir = path.join(path.dirname(testCluster().dataDir), name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (testCluster().runAs) execFileSync('chown', [`${testCluster().runAs}:`, dir]);
  return dir;
}
