/**
 * dumpDatabase: the archive stream, straight into the primary store.
 *
 *   pg_dump -Fc --snapshot  ->  taps on pg_dump's own bytes: `pg_restore --list` (table of
 *   contents); with verify "full" `pg_restore --file=/dev/null` (reads every block back)
 *   ->  zstd  ->  [SHA-256 of the archive before encryption]  ->  age  ->  SHA-256 + size of the
 *   stored bytes  ->  gate (the store completes the object only once both pg_restores succeeded)
 *   ->  the store (a posix file renamed into place, or an S3 multipart upload)
 *
 * No full local copy is made. What the dump learnt (server, tables read in the dump's own snapshot,
 * the database's properties) goes into a small facts object beside it; publishBackup turns it into
 * the manifest. A failed or cancelled dump kills every process and leaves nothing that looks like
 * a backup; a retry starts afresh under the same backup id.
 */
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import { backupKeys } from '../common/backup-keys.js';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { filterChain, formatCompression, isEncrypted, pgDumpLevel } from '../common/filters.js';
import type { DatabaseProperties, ServerInfo, TableEstimate } from '../common/manifest.js';
import { refuseUnlistableName } from '../common/names.js';
import type { DumpRequest, DumpResult } from '../common/types.js';
import { encryptionRecipients } from './encryption.js';
import { failure, pgClientFailure } from './failures.js';
import { heartbeatEvery } from './heartbeat.js';
import { readDatabaseProperties } from './postgres/database-properties.js';
import { sealProperties } from './sealed-properties.js';
import { readDatabaseSize, readServerIdentity, readTableEstimates, withClient } from './postgres/pg-client.js';
import { conninfoForDatabase, pgToolSpec, pgToolVersion } from './postgres/pg-tools.js';
import { primaryStore } from './store/open-stores.js';
import type { BackupStore } from './store/store.js';
import { forwardTool, zstdInputBytes } from './stream/filter-tools.js';
import { Rank, StreamRun } from './stream/stream-run.js';
import { namedPipes, readingPipe, startLinkedTool } from './stream/linked-tools.js';
import { gate, measureTap } from './stream/taps.js';
import { requireFilterTools } from './stream/tool-check.js';
import { startTool, streamToolFailed, toolStage } from './stream/tool-process.js';

/** What the dump learnt, kept beside the archive until publishBackup writes the manifest. */
export interface DumpFacts {
  startedAt: string;
  pgDumpVersion: string;
  server: ServerInfo;
  tables: TableEstimate[];
  databaseProperties: DatabaseProperties;
  compression: string;
  verify: 'full' | 'toc';
  workflow: DumpRequest['workflow'];
  /** The run and attempt that wrote them (`<runId>/<attempt>`): one timed out (Temporal unreachable) may fail later, and must leave its retry's facts be. */
  writer: string;
}

/**
 * pg_dump waits this long for a table lock (a long ALTER TABLE, say) before it gives up; the
 * attempt is then retried. Without it a dump could wait for ever, holding its own locks.
 */
const LOCK_WAIT_TIMEOUT = '15min';

/**
 * Runs `use` inside a REPEATABLE READ transaction whose snapshot is exported for pg_dump.
 * Errors before `use` marks the dump as started are SQL errors and get classified; the dump's
 * own errors (already classified) pass through untouched.
 */
async function inExportedSnapshot<T>(config: Config, database: string, use: (client: pg.Client, snapshot: string, progress: { dumping: boolean }) => Promise<T>): Promise<T> {
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

/**
 * What pg_dump warned of on its way to exit 0: it leaves out what DB_USER may not read
 * (subscriptions, a user mapping's options without superuser) and says so only there, so the
 * backup says it too rather than look whole.
 */
export function pgDumpWarnings(stderr: string): string[] {
  // A warning's detail lines (the tables of a circular foreign key, say) belong to it.
  return [...stderr.matchAll(/^pg_dump: warning: (.+)$((?:\npg_dump: (?:detail|hint): .+$)*)/gm)].map(
    (m) => `pg_dump: ${m[1]!.trim()}${m[2] ? ` (${m[2].trim().split('\n').map((l) => l.replace(/^pg_dump: (?:detail|hint): /, '').trim()).join('; ')})` : ''}`,
  );
}

/**
 * What pg_dump leaves out without a word for a DB_USER that is not a superuser: the options of user
 * mappings (a remote password, say), which it reads as none. A mapping with no options looks the same.
 */
async function unseenByDump(client: pg.Client, user: string): Promise<string[]> {
  const { rows } = await client.query<{ superuser: boolean; hidden: string }>(
    `select (select rolsuper from pg_roles where rolname = current_user) as superuser, (select count(*) from pg_user_mappings where umoptions is null) as hidden`,
  );
  const hidden = Number(rows[0]!.hidden);
  if (rows[0]!.superuser || hidden === 0) return [];
  return [`the options of ${hidden} user mapping(s) (a remote password, say) are not readable by DB_USER "${user}", which is not a superuser: the backup holds those mappings without them`];
}

/** Entries of a `pg_restore --list` listing, and how many of them are table data. */
export function countToc(list: string): { entries: number; tableDataEntries: number } {
  const entries = list.split('\n').filter((line) => line.trim() !== '' && !line.startsWith(';'));
  return { entries: entries.length, tableDataEntries: entries.filter((line) => / TABLE DATA /.test(line)).length };
}

/** This attempt, by its run (a reset workflow counts attempts from 1 again) and number. */
function writerOf(ctx: Context): string {
  return `${ctx.info.workflowExecution?.runId}/${ctx.info.attempt}`;
}

/**
 * Deletes the facts if this attempt wrote them. An attempt Temporal timed out while the worker could
 * not reach it runs on beside its retry; when it then fails, the facts are its retry's, which the
 * publish step needs. (Facts of an older pgkeeper, which names no writer, are left to the sweep.)
 */
async function deleteOwnFacts(store: BackupStore, key: string, writer: string): Promise<void> {
  const text = await store.getText(key);
  if (text === undefined || (JSON.parse(text) as Partial<DumpFacts>).writer !== writer) return;
  await store.delete(key);
}

export async function dumpDatabase(config: Config, req: DumpRequest): Promise<DumpResult> {
  try {
    refuseUnlistableName(req.database);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, FailureType.InvalidInput);
  }
  const ctx = Context.current();
  const store = primaryStore(config);
  const recipients = await encryptionRecipients(config);
  const filters = filterChain(req.compression, recipients);
  const keys = backupKeys(req.database, req.backupId, filters);
  const startedMs = Date.now();
  // Progress in bytes stored (compressed, encrypted): pg_dump's own bytes never pass through here.
  const stored = measureTap(true);
  const stopHeartbeat = heartbeatEvery(1_000, () => ({ phase: 'dumping', bytes: stored.bytes() }));
  let dumpBytes = 0;
  let tocList = '';
  let plaintextResult: DumpResult['plaintext'] = null;
  let dumpWarnings: string[] = [];
  try {
    // An earlier attempt of this backup that died mid-upload (worker killed, store gone) left an
    // unfinished write that its own clean-up could not remove: only a retry knows it is dead.
    if (ctx.info.attempt > 1) await store.sweepUnfinished(0, keys.archive);
    await requireFilterTools(filters);
    const pgDumpVersion = await pgToolVersion(config, 'pg_dump');
    return await inExportedSnapshot(config, req.database, async (client, snapshot, progress) => {
      const facts: DumpFacts = {
        startedAt: new Date().toISOString(),
        pgDumpVersion,
        server: await readServerIdentity(client),
        tables: await readTableEstimates(client),
        databaseProperties: await sealProperties(await readDatabaseProperties(client), recipients),
        compression: formatCompression(req.compression),
        verify: req.verify,
        workflow: req.workflow,
        writer: writerOf(ctx),
      };
      await store.put(keys.facts, JSON.stringify(facts, null, 2));
      const unseen = await unseenByDump(client, config.db.user);
      // Sizes the store's parts (S3). The archive is usually much smaller than the database (no
      // indexes, compressed); uncompressed, values PostgreSQL keeps compressed can make it larger.
      const uncompressed = req.compression.kind !== 'zstd' && pgDumpLevel(req.compression) === 0; // none, gzip:0
      const expectedBytes = (await readDatabaseSize(client)) * (uncompressed ? 4 : 1);
      progress.dumping = true;

      const run = new StreamRun(ctx.cancellationSignal);
      const corrupt = ({ stderr }: { stderr: string }) =>
        failure(config, FailureType.CorruptArchive, `the archive pg_dump wrote for "${req.database}" could not be read back by pg_restore: ${stderr || 'no message'}`);
      const pipes = await namedPipes(['toc', ...(req.verify === 'full' ? ['read'] : [])]);
      try {
        // pg_dump -> tee -> [zstd] run linked (see stream/linked-tools.ts); tee also feeds, through
        // named pipes, the table of contents and the full read-through.
        const pgDump = startLinkedTool(
          run,
          await pgToolSpec(config, 'pg_dump', [
            '--format=custom',
            `--compress=${pgDumpLevel(req.compression)}`,
            `--snapshot=${snapshot}`,
            `--lock-wait-timeout=${LOCK_WAIT_TIMEOUT}`,
            '--no-password',
            `--dbname=${conninfoForDatabase(req.database)}`,
          ], `dump database "${req.database}"`, { rank: Rank.Source }),
          'ignore',
        );
        const toc = startTool(run, readingPipe(await pgToolSpec(config, 'pg_restore', ['--list'], 'read the table of contents', { captureStdout: true, classify: corrupt, rank: Rank.Reader }), pipes.paths.toc!), 'ignore');
        const readThrough = pipes.paths.read
          ? startTool(run, readingPipe(await pgToolSpec(config, 'pg_restore', ['--file=/dev/null'], 'read the archive back', { classify: corrupt, rank: Rank.Reader }), pipes.paths.read), 'ignore')
          : undefined;
        // -p: a reader that has read all it needs (pg_restore --list) may go; the others go on.
        const tee = startLinkedTool(run, { name: 'tee', file: 'tee', args: ['-p', ...Object.values(pipes.paths)], classify: streamToolFailed('tee') }, pgDump.stdout);
        const linked: Promise<unknown>[] = [pgDump.done, tee.done];
        let plain = tee.stdout;
        const rest = [...filters];
        let compressing: Promise<string> | undefined;
        let compressedFrom: number | undefined;
        if (rest[0]?.filter === 'zstd') {
          const zstd = startLinkedTool(run, forwardTool(rest.shift()!), tee.stdout);
          compressing = zstd.done;
          linked.push(zstd.done);
          plain = zstd.stdout;
        }
        // What is left (age) runs on the compressed bytes, through this process: they are few.
        const stages: NodeJS.ReadWriteStream[] = [];
        const plaintext = isEncrypted(filters) ? measureTap(true) : undefined;
        for (const step of rest) {
          if (step.filter === 'age' && plaintext) stages.push(plaintext);
          const { stage, done } = toolStage(run, forwardTool(step));
          stages.push(stage);
          linked.push(done);
        }
        const readers = [toc.done, ...(readThrough ? [readThrough.done] : [])];
        // The store completes the object only once every tool has exited well and zstd said how much
        // it read: a dump cut short, or one pg_restore could not read back, never becomes an object.
        const checks = async () => {
          await Promise.all([...linked, ...readers]);
          if (compressing) compressedFrom = zstdInputBytes(await compressing);
        };
        stages.push(stored, gate(checks));
        const out = new PassThrough({ highWaterMark: 1 << 20 });
        const putting = store.put(keys.archive, out, { signal: run.signal, expectedBytes }).catch((err: unknown) => {
          run.fail(err, Rank.Store);
          throw err;
        });
        // A store that fails destroys the stream it reads with its raw error (ENOSPC, a reset socket):
        // the store's own failure (DiskFull, StoreUnavailable, ...) is the cause, so it is heard first.
        const piping = pipeline([plain, ...stages, out], { signal: run.signal }).catch(async (err: unknown) => {
          await putting.catch(() => undefined);
          run.fail(err);
        });
        await run.settle([piping, putting, ...linked, ...readers]);
        dumpWarnings = [...unseen, ...pgDumpWarnings(await pgDump.done)];
        for (const warning of dumpWarnings) ctx.log.warn(`backup ${req.backupId}: ${warning}`);
        tocList = await toc.done;
        plaintextResult = plaintext ? plaintext.result() : null;
        // pg_dump's bytes: what zstd read, or (no zstd) what reached this process before age.
        dumpBytes = compressedFrom ?? (plaintextResult ?? stored.result()).sizeBytes;
      } finally {
        await pipes.remove();
      }

      const archive = stored.result();
      return {
        archive: { name: keys.archive.slice(keys.folder.length + 1), sizeBytes: archive.sizeBytes, sha256: archive.sha256 },
        filters,
        plaintext: plaintextResult,
        dumpBytes,
        toc: countToc(tocList),
        tableCount: facts.tables.length,
        durationMs: Date.now() - startedMs,
        ...(dumpWarnings.length ? { warnings: dumpWarnings } : {}),
      };
    });
  } catch (err) {
    // Nothing of a failed dump may look like a backup; the facts are useless without the archive.
    await deleteOwnFacts(store, keys.facts, writerOf(ctx)).catch(() => undefined);
    throw err;
  } finally {
    stopHeartbeat();
  }
}
