/**
 * restoreIntoStaging: `pg_restore -j N --exit-on-error` into a fresh staging database, never into
 * the target. Heartbeats the number of archive items processed; cancellation kills pg_restore
 * (the workflow then drops the staging database).
 */
import { Context } from '@temporalio/activity';
import { execa } from 'execa';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { recreateStagingDatabase } from './database-admin.js';
import { failure, rejectingInput, toolFailure } from './failures.js';
import { heartbeatEvery } from './heartbeat.js';
import { conninfoForDatabase, pgToolPath, pgToolProcess } from './pg-tools.js';
import { realPathInside } from './resolve-backup.js';

export interface RestoreArchiveRequest {
  dumpPath: string;
  staging: string;
  jobs: number;
  noOwner: boolean;
  noPrivileges: boolean;
  /** Table-of-contents entries, from the manifest, for progress. */
  tocEntries?: number;
}

/** A connection problem may pass (server restarting): worth a retry from scratch. */
const TRANSIENT = /could not connect|connection to server .* failed|server closed the connection|terminating connection|the database system is (starting up|shutting down)/i;

export async function restoreIntoStaging(config: Config, req: RestoreArchiveRequest): Promise<{ durationMs: number }> {
  const file = await rejectingInput(config, () => realPathInside(config, req.dumpPath));
  const ctx = Context.current();
  const startedMs = Date.now();
  let items = 0;
  const stderrTail: string[] = [];
  const stopHeartbeat = heartbeatEvery(1_000, () => ({ phase: 'restoring into staging', items, totalItems: req.tocEntries }));
  try {
    await recreateStagingDatabase(config, req.staging);
    const child = execa(
      await pgToolPath(config, 'pg_restore'),
      [
        '--exit-on-error',
        '--no-password', // never wait on a password prompt: fail and say so
        '--verbose', // one stderr line per item: our progress
        `--jobs=${req.jobs}`,
        `--dbname=${conninfoForDatabase(req.staging)}`,
        ...(req.noOwner ? ['--no-owner'] : []),
        ...(req.noPrivileges ? ['--no-privileges'] : []),
        file,
      ],
      { ...pgToolProcess(config, ctx.cancellationSignal), stdin: 'ignore', stdout: 'ignore', buffer: false },
    );
    child.stderr.setEncoding('utf8');
    let partialLine = '';
    child.stderr.on('data', (text: string) => {
      const lines = (partialLine + text).split('\n');
      partialLine = lines.pop() ?? '';
      for (const line of lines) {
        if (/^pg_restore: (creating|processing|executing)/.test(line)) items += 1;
        if (!/^pg_restore: (creating|processing|executing|connecting|launching|finished)/.test(line)) {
          stderrTail.push(line);
          if (stderrTail.length > 20) stderrTail.shift();
        }
      }
    });
    const result = await child;
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
    if (result.failed) {
      const stderr = stderrTail.join('\n');
      const classified = toolFailure(config, 'pg_restore', `restore into "${req.staging}"`, stderr, result.exitCode, result.code);
      if (classified.type !== FailureType.PgToolFailed || TRANSIENT.test(stderr)) throw classified;
      const errors = stderrTail.filter((l) => /error|fatal/i.test(l)).slice(-3).join(' | ') || stderrTail.slice(-3).join(' | ');
      throw failure(
        config,
        FailureType.RestoreFailed,
        `pg_restore could not restore ${file} into the staging database (exit code ${result.exitCode}): ${errors}. The target was not touched`,
      );
    }
    return { durationMs: Date.now() - startedMs };
  } finally {
    stopHeartbeat();
  }
}
