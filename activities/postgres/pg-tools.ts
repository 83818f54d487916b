/**
 * Running the PostgreSQL client tools. Connection settings and the password travel in the
 * child's environment (PGHOST, PGPASSWORD, ...), never on its command line, where `ps` would show them.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../../common/config.js';
import { FailureType } from '../../common/errors.js';
import { killedBy, toolFailure } from '../failures.js';
import { readServerInfo, SESSION_OPTIONS, withClient } from './pg-client.js';
import { toolEnvironment } from '../stream/tool-env.js';
import type { ToolSpec } from '../stream/tool-process.js';

export const PG_TOOLS = ['pg_dump', 'pg_restore', 'pg_dumpall', 'psql'] as const;
export type PgTool = (typeof PG_TOOLS)[number];

/**
 * One promise per key for the life of the process; a rejected one is forgotten, so the next call
 * asks again (the server may not have been up yet).
 */
function memoized<V>(cache: Map<string, Promise<V>>, key: string, make: () => Promise<V>): Promise<V> {
  let value = cache.get(key);
  if (!value) {
    value = make();
    cache.set(key, value);
    value.catch(() => cache.delete(key));
  }
  return value;
}

const binDirs = new Map<string, Promise<string | undefined>>();

/**
 * Where the pg tools come from: PG_BIN_DIR if set; else, when the server's major version has a
 * Debian-style `/usr/lib/postgresql/<major>/bin`, that one (pg_dump must not be older than the
 * server); else PATH. Asked once per server and worker process.
 */
async function binDir(config: Config): Promise<string | undefined> {
  if (config.pgBinDir) return config.pgBinDir;
  const found = memoized(binDirs, `${config.db.host}:${config.db.port}`, async () => {
    const { versionNum } = await withClient(config, 'postgres', readServerInfo);
    const candidate = `/usr/lib/postgresql/${Math.floor(versionNum / 10_000)}/bin`;
    return (await fs.stat(path.join(candidate, 'pg_dump')).catch(() => undefined)) ? candidate : undefined;
  });
  return found.catch(() => undefined); // server not reachable yet: PATH for now, decide again next time
}

export async function pgToolPath(config: Config, tool: PgTool): Promise<string> {
  const dir = await binDir(config);
  return dir ? path.join(dir, tool) : tool;
}

export function pgToolEnv(config: Config): Record<string, string> {
  const env: Record<string, string> = {
    ...toolEnvironment(),
    PGHOST: config.db.host,
    PGPORT: String(config.db.port),
    PGUSER: config.db.user,
    PGAPPNAME: 'pgkeeper',
    PGCONNECT_TIMEOUT: '10',
    PGOPTIONS: SESSION_OPTIONS,
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

/**
 * Options for every pg tool process: connection settings in its environment, no stdin, failures
 * returned rather than thrown, and on cancellation SIGTERM then (after 5 s) SIGKILL.
 */
export function pgToolProcess(config: Config, cancelSignal?: AbortSignal) {
  return {
    env: pgToolEnv(config),
    extendEnv: false,
    reject: false,
    ...(cancelSignal ? { cancelSignal, forceKillAfterDelay: 5_000 } : {}),
  } as const;
}

export interface RunOptions {
  cancelSignal?: AbortSignal;
  /** What the tool is doing, for error messages: "dump database app". */
  purpose: string;
}

/** Runs a pg tool to completion; failures become classified ApplicationFailures. */
export async function runPgToolOutput(config: Config, tool: PgTool, args: string[], options: RunOptions): Promise<{ stdout: string; stderr: string }> {
  const result = await execa(await pgToolPath(config, tool), args, { ...pgToolProcess(config, options.cancelSignal), stdin: 'ignore' });
  if (options.cancelSignal?.aborted) throw options.cancelSignal.reason;
  if (result.signal) {
    throw ApplicationFailure.retryable(killedBy(`${tool}, trying to ${options.purpose},`, result.signal), FailureType.PgToolKilled);
  }
  if (result.failed) {
    throw toolFailure(config, tool, options.purpose, String(result.stderr ?? ''), result.exitCode, result.code);
  }
  return { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
}

/** Runs a pg tool to completion and returns its stdout. */
export async function runPgTool(config: Config, tool: PgTool, args: string[], options: RunOptions): Promise<string> {
  return (await runPgToolOutput(config, tool, args, options)).stdout;
}

const versions = new Map<string, Promise<string>>();

/** "pg_dump (PostgreSQL) 15.19 (Debian 15.19-0+deb12u1)", for the manifest; asked once per binary and process. */
export async function pgToolVersion(config: Config, tool: PgTool): Promise<string> {
  const binary = await pgToolPath(config, tool);
  return memoized(versions, binary, async () => (await runPgTool(config, tool, ['--version'], { purpose: `read the version of ${tool}` })).trim());
}

/** A pg tool as part of an archive stream (activities/stream): its failures classified like runPgTool's. */
export async function pgToolSpec(
  config: Config,
  tool: PgTool,
  args: string[],
  purpose: string,
  options: { captureStdout?: boolean; classify?: ToolSpec['classify']; rank?: number } = {},
): Promise<ToolSpec> {
  return {
    name: tool,
    file: await pgToolPath(config, tool),
    args,
    env: pgToolEnv(config),
    captureStdout: options.captureStdout ?? false,
    ...(options.rank !== undefined ? { rank: options.rank } : {}),
    classify: options.classify ?? (({ exitCode, stderr }) => toolFailure(config, tool, purpose, stderr, exitCode)),
  };
}
