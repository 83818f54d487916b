/**
 * dumpDatabase: `pg_dump -Fc` streamed through SHA-256 into `<id>.dump.partial`, and at the same
 * time into `pg_restore --file=/dev/null`, which reads and decompresses every block of the archive.
 * So the archive is hashed and fully read through while it is written, on the second core, instead
 * of being read twice more afterwards (that read-through alone cost ~25% of a dump's time).
 * The table list for the manifest is read in a snapshot that pg_dump then uses (--snapshot), so
 * the manifest describes exactly what the archive holds.
 * A failed or cancelled dump kills pg_dump (and the read-through) and removes the partial file; a retry starts afresh
 * under the same backup id, so retries are idempotent.
 */
import { Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import type pg from 'pg';
import type { Config } from '../common/config.js';
import type { DumpRequest, DumpResult, ServerInfo, TableEstimate } from '../common/types.js';
import { backupPaths, fsyncPath, removeIfPresent } from './backup-store.js';
import { ApplicationFailure } from '@temporalio/common';
import { diskFull, failure, isNoSpaceError, pgClientFailure, stderrTail, toolFailure } from './failures.js';
import { FailureType } from '../common/errors.js';
import { heartbeatEvery } from './heartbeat.js';
import { readServerInfo, readTableEstimates, withClient } from './pg-client.js';
import { conninfoForDatabase, pgToolPath, pgToolProcess, pgToolVersion } from './pg-tools.js';

/** Facts gathered at dump time, kept next to the partial archive until publishBackup writes the manifest. */
export interface DumpFacts {
  startedAt: string;
  pgDumpVersion: string;
  server: ServerInfo;
  tables: TableEstimate[];
  compressLevel: number;
  verify: 'full' | 'toc';
  workflow: DumpRequest['workflow'];
}

/**
 * pg_dump waits this long for a table lock (a long ALTER TABLE, say) before it gives up; the
 * attempt is then retried. Without it a dump could wait for ever, holding its own locks.
 */
const LOCK_WAIT_TIMEOUT = '15min';

/**
 * Runs `use` inside a REPEATABLE READ transaction whose snapshot is exported for pg_dump.
 * Errors before `use` marks the dump as started are SQL errors and get classified; the dump's
 * own errors (already classified, or a full disk) pass through untouched.
 */
async function inExportedSnapshot<T>(
  config: Config,
  database: string,
  use: (client: pg.Client, snapshot: string, progress: { dumping: boolean }) => Promise<T>,
): Promise<T> {
  const progress = { dumping: false };
  try {
    return await withClient(config, database, async (client) => {
      await client.query('begin isolation level repeatable read, read only');
      const { rows } = await client.query<{ snapshot: string }>('select pg_export_snapshot() as snapshot');
      try {
        return await use(client, rows[0]!.snapshot, progress);
      } finally {
        await client.query('commit').catch(() => undefined);
      }
    });
  } catch (err) {
    throw progress.dumping ? err : pgClientFailure(config, database, err);
  }
}

export async function dumpDatabase(config: Config, req: DumpRequest): Promise<DumpResult> {
  const ctx = Context.current();
  const paths = backupPaths(config.backupDir, req.database, req.backupId);
  const startedMs = Date.now();
  let bytes = 0;
  const stopHeartbeat = heartbeatEvery(1_000, () => ({ phase: 'dumping', bytes }));
  try {
    await fs.mkdir(paths.dir, { recursive: true, mode: 0o750 });
    const pgDumpVersion = await pgToolVersion(config, 'pg_dump');
    return await inExportedSnapshot(config, req.database, async (client, snapshot, progress) => {
      const facts: DumpFacts = {
        startedAt: new Date().toISOString(),
        pgDumpVersion,
        server: await readServerInfo(client),
        tables: await readTableEstimates(client),
        compressLevel: req.compressLevel,
        verify: req.fullVerify ? 'full' : 'toc',
        workflow: req.workflow,
      };
      await fs.writeFile(paths.partialManifest, JSON.stringify(facts, null, 2), { mode: 0o640 });

      const hash = createHash('sha256');
      progress.dumping = true;
      // The full read-through of the archive, fed the very bytes written to the file.
      const verifier = req.fullVerify
        ? execa(await pgToolPath(config, 'pg_restore'), ['--file=/dev/null'], {
            ...pgToolProcess(config, ctx.cancellationSignal),
            stdin: 'pipe',
            stdout: 'ignore',
          })
        : undefined;
      // Once the read-through stops reading (it exited, was killed, or failed), its stdin closes,
      // sometimes without an error event: from then on the dump goes on without it, and its exit
      // status decides the outcome below. Waiting for a 'drain' that never comes would hang pg_dump.
      let verifierGone = verifier === undefined;
      const stopFeeding = () => {
        verifierGone = true;
      };
      verifier?.stdin.on('error', stopFeeding);
      verifier?.stdin.on('close', stopFeeding);
      const child = execa(
        await pgToolPath(config, 'pg_dump'),
        [
          '--format=custom',
          `--compress=${req.compressLevel}`,
          `--snapshot=${snapshot}`,
          `--lock-wait-timeout=${LOCK_WAIT_TIMEOUT}`,
          '--no-password',
          `--dbname=${conninfoForDatabase(req.database)}`,
        ],
        { ...pgToolProcess(config, ctx.cancellationSignal), stdin: 'ignore', buffer: { stdout: false, stderr: true } },
      );
      const countHashAndVerify = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          hash.update(chunk);
          const stdin = verifier?.stdin;
          if (verifierGone || !stdin || stdin.destroyed || stdin.write(chunk)) {
            done(null, chunk);
            return;
          }
          const resume = () => {
            stdin.off('drain', resume);
            stdin.off('close', resume);
            done(null, chunk);
          };
          stdin.once('drain', resume);
          stdin.once('close', resume);
        },
        flush(done) {
          verifier?.stdin.end();
          done();
        },
      });
      let writeError: unknown;
      const writing = pipeline(child.stdout, countHashAndVerify, createWriteStream(paths.partialDump, { mode: 0o640 })).catch((err: unknown) => {
        writeError = err;
        child.kill('SIGTERM'); // nothing can be written any more: stop pg_dump rather than let it block
        verifier?.kill('SIGTERM');
      });
      const result = await child;
      await writing;
      if (verifier && !verifier.stdin.writableEnded) verifier.stdin.end();
      const verified = await verifier;

      if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
      if (writeError) throw writeError;
      if (result.failed) {
        throw toolFailure(config, 'pg_dump', `dump database "${req.database}"`, String(result.stderr ?? ''), result.exitCode, result.code);
      }
      if (verified?.signal) {
        // Killed from outside (out of memory?): says nothing about the archive; try again.
        throw ApplicationFailure.retryable(`pg_restore reading the archive back was killed by ${verified.signal}`, FailureType.PgToolKilled);
      }
      if (verified?.failed) {
        // pg_dump succeeded but its own output cannot be read back: keep nothing, say why.
        const reason = stderrTail(String(verified.stderr ?? '')) || `exit code ${verified.exitCode}`;
        throw failure(config, FailureType.CorruptArchive, `the archive pg_dump wrote for "${req.database}" could not be read back by pg_restore: ${reason}`);
      }
      await fsyncPath(paths.partialDump);
      return { sizeBytes: bytes, sha256: hash.digest('hex'), durationMs: Date.now() - startedMs, tableCount: facts.tables.length };
    });
  } catch (err) {
    await removeIfPresent(paths.partialDump);
    await removeIfPresent(paths.partialManifest);
    throw isNoSpaceError(err) ? diskFull(config, paths.partialDump) : err;
  } finally {
    stopHeartbeat();
  }
}
