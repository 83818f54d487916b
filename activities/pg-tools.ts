/**
 * Running the PostgreSQL client tools. Connection settings and the password travel in the
 * child's environment (PGHOST, PGPASSWORD, ...), never on its command line, where `ps` would show them.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa, type Options } from 'execa';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { toolFailure } from './failures.js';
import { readServerInfo, withClient } from './pg-client.js';

export type PgTool = 'pg_dump' | 'pg_restore' | 'pg_dumpall' | 'psql';

const binDirs = new Map<string, Promise<string | undefined>>();

/**
 * Where the pg tools come from: PG_BIN_DIR if set; else, when the server's major version has a
 * Debian-style `/usr/lib/postgresql/<major>/bin`, that one (pg_dump must not be older than the
 * server); else PATH. Asked once per server and worker process.
 */
async function binDir(config: Config): Promise<string | undefined> {
  if (config.pgBinDir) return config.pgBinDir;
  const key = `${config.db.host}:${config.db.port}`;
  let dir = binDirs.get(key);
  if (!dir) {
    dir = withClient(config, 'postgres', readServerInfo)
      .then(async ({ versionNum }) => {
        const candidate = `/usr/lib/postgresql/${Math.floor(versionNum / 10_000)}/bin`;
        return (await fs.stat(path.join(candidate, 'pg_dump')).catch(() => undefined)) ? candidate : undefined;
      })
      .catch(() => {
        binDirs.delete(key); // server not reachable yet: decide on the next call
        return undefined;
      });
    binDirs.set(key, dir);
  }
  return dir;
}

export async function pgToolPath(config: Config, tool: PgTool): Promise<string> {
  const dir = await binDir(config);
  return dir ? path.join(dir, tool) : tool;
}

export function pgToolEnv(config: Config): Record<string, string> {
  const env: Record<string, string> = {
    PGHOST: config.db.host,
    PGPORT: String(config.db.port),
    PGUSER: config.db.user,
    PGAPPNAME: 'pgkeeper',
    PGCONNECT_TIMEOUT: '10',
  };
  if (config.db.password !== undefined) env.PGPASSWORD = config.db.password;
  return env;
}

/**
 * A conninfo string naming only the database. The pg tools treat a --dbname containing "=" or a
 * URI prefix as a connection string, so a hostile database name could otherwise redirect them;
 * quoting it as a conninfo value makes every name mean exactly itself.
 */
export function conninfoForDatabase(database: string): string {
  return `dbname='${database.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export interface RunOptions {
  cancelSignal?: AbortSignal;
  /** What the tool is doing, for error messages: "dump database app". */
  purpose: string;
}

/** Runs a pg tool to completion and returns its stdout; failures become classified ApplicationFailures. */
export async function runPgTool(config: Config, tool: PgTool, args: string[], options: RunOptions): Promise<string> {
  const execaOptions: Options = {
    env: pgToolEnv(config),
    stdin: 'ignore',
    reject: false,
    ...(options.cancelSignal ? { cancelSignal: options.cancelSignal, forceKillAfterDelay: 5_000 } : {}),
  };
  const result = await execa(await pgToolPath(config, tool), args, execaOptions);
  if (options.cancelSignal?.aborted) throw options.cancelSignal.reason;
  if (result.signal) {
    throw ApplicationFailure.retryable(`${tool} was killed by ${result.signal} while trying to ${options.purpose} (out of memory?)`, FailureType.PgToolKilled);
  }
  if (result.failed) {
    throw toolFailure(config, tool, options.purpose, String(result.stderr ?? ''), result.exitCode, result.code);
  }
  return String(result.stdout ?? '');
}

const versions = new Map<string, Promise<string>>();

/** "pg_dump (PostgreSQL) 15.19 (Debian 15.19-0+deb12u1)", for the manifest; asked once per binary and process. */
export async function pgToolVersion(config: Config, tool: PgTool): Promise<string> {
  const binary = await pgToolPath(config, tool);
  let version = versions.get(binary);
  if (!version) {
    version = runPgTool(config, tool, ['--version'], { purpose: `read the version of ${tool}` }).then((out) => out.trim());
    version.catch(() => versions.delete(binary));
    versions.set(binary, version);
  }
  return version;
}
