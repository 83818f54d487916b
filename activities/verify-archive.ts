/**
 * Archive verification with pg_restore. `--list` reads only the table of contents; writing the
 * whole restore script to /dev/null also reads and decompresses every data block, which is what
 * catches a flipped byte or a truncated file.
 * A new backup's full read-through already happened while it was dumped (dumpDatabase feeds the
 * same bytes to pg_restore); verifyArchive then reads the written file's table of contents, which
 * proves the file on disk is a readable archive and counts its entries for the manifest.
 * Archives from elsewhere (seed-style files) get the full read-through here.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import type { VerifyResult } from '../common/types.js';
import { backupPaths, removeIfPresent } from './backup-store.js';
import { failure, rejectingInput } from './failures.js';
import { heartbeatEvery } from './heartbeat.js';
import { runPgTool } from './pg-tools.js';
import { realPathInside } from './resolve-backup.js';

export interface VerifyRequest {
  database: string;
  backupId: string;
}

/** Reads a custom-format archive's table of contents, and with `readAll` every data block; a corrupt one is a non-retryable CorruptArchive. */
async function verifyArchiveFile(config: Config, file: string, readAll: boolean): Promise<Omit<VerifyResult, 'durationMs'>> {
  const cancelSignal = Context.current().cancellationSignal;
  const corrupt = (err: unknown) => {
    // A pg_restore that cannot read a file we hold is a property of the file: retrying cannot help.
    // (Killed by a signal is PgToolKilled, and says nothing about the file.)
    if (err instanceof ApplicationFailure && err.type === FailureType.PgToolFailed) {
      return failure(config, FailureType.CorruptArchive, `archive ${file} is unreadable: ${err.message}`);
    }
    return err;
  };
  let list: string;
  try {
    list = await runPgTool(config, 'pg_restore', ['--list', file], { cancelSignal, purpose: `list ${file}` });
    if (readAll) await runPgTool(config, 'pg_restore', ['--file=/dev/null', file], { cancelSignal, purpose: `read ${file}` });
  } catch (err) {
    throw corrupt(err);
  }
  const entries = list.split('\n').filter((line) => line.trim() !== '' && !line.startsWith(';'));
  return {
    tocEntries: entries.length,
    tableDataEntries: entries.filter((line) => / TABLE DATA /.test(line)).length,
  };
}

export async function verifyArchive(config: Config, req: VerifyRequest): Promise<VerifyResult> {
  const paths = backupPaths(config.backupDir, req.database, req.backupId);
  const startedMs = Date.now();
  const stopHeartbeat = heartbeatEvery(1_000, () => ({ phase: 'verifying' }));
  try {
    const toc = await verifyArchiveFile(config, paths.partialDump, false);
    return { ...toc, durationMs: Date.now() - startedMs };
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === FailureType.CorruptArchive) {
      // A corrupt dump is worthless and may be large: free the space now.
      await removeIfPresent(paths.partialDump);
      await removeIfPresent(paths.partialManifest);
    }
    throw err;
  } finally {
    stopHeartbeat();
  }
}

/** A seed-style archive has no checksum to compare: read it through instead, before anything is touched. */
export async function verifyArchiveAt(config: Config, req: { dumpPath: string }): Promise<VerifyResult> {
  const file = await rejectingInput(config, () => realPathInside(config, req.dumpPath));
  const startedMs = Date.now();
  const stopHeartbeat = heartbeatEvery(1_000, () => ({ phase: 'verifying archive' }));
  try {
    return { ...(await verifyArchiveFile(config, file, true)), durationMs: Date.now() - startedMs };
  } finally {
    stopHeartbeat();
  }
}
