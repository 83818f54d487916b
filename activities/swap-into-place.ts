/**
 * swapIntoPlace: the staging database takes the target's name. In replace mode both renames
 * (target -> kept, staging -> target) run in one transaction, so there is no moment without a
 * database called `target`. Safe to retry: a finished swap is recognised by the staging
 * database's OID now being the target's. Heartbeats throughout, so a dead worker is noticed in
 * seconds, not after a long timeout.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { keptName } from '../common/restore-input.js';
import { quoteIdent, quoteLiteral } from '../common/sql.js';
import { failure, refusal } from './failures.js';
import { heartbeatEvery } from './heartbeat.js';
import { assertStagingName, databaseComment, databaseOid, withAdmin } from './postgres/database-admin.js';
import { ownComment } from './postgres/staging-mark.js';

export interface SwapRequest {
  staging: string;
  /** From restoreIntoStaging: proves, on a retry, that the target already is this staging database. */
  stagingOid: number;
  target: string;
  mode: 'create' | 'replace';
  /** When the previous database is kept (replace mode): its name says so, `<target>_pre_restore_<time>`. */
  keptAtMs: number;
  /** That name, for a worker older than keptAtMs (a rolling upgrade), which takes it as it is. */
  kept: string;
}

/** Seconds after the swap's time its kept name may move to, when the name for that time is taken. */
const KEPT_CANDIDATES = 60;

/**
 * The names the previous database may be kept under: the one for the swap's time, then the same
 * for each later second, for when a database has that name already (made by hand, or kept by a
 * replace of a small database a moment before). Moving on beats failing a restore at its last step.
 * A swap scheduled by a run begun before keptAtMs existed has its one name.
 */
function keptCandidates(req: SwapRequest): string[] {
  if (!Number.isFinite(req.keptAtMs)) return [req.kept];
  return Array.from({ length: KEPT_CANDIDATES }, (_, i) => keptName(req.target, req.keptAtMs + i * 1000));
}

/** The first candidate no database has, and those before it (taken): one query for them all. */
async function firstFreeName(client: pg.Client, candidates: string[]): Promise<{ taken: string[]; free: string | undefined }> {
  const { rows } = await client.query<{ datname: string }>('select datname from pg_database where datname = any($1::text[])', [candidates]);
  const existing = new Set(rows.map((r) => r.datname));
  const i = candidates.findIndex((name) => !existing.has(name));
  return i === -1 ? { taken: candidates, free: undefined } : { taken: candidates.slice(0, i), free: candidates[i] };
}

/**
 * The candidate a finished swap kept the previous database under: renamed in the swap's own
 * transaction, its catalog row carries the same xmin as the target's. A database that merely has
 * a candidate's name (made by hand) does not.
 */
async function keptBySwap(client: pg.Client, target: string, candidates: string[]): Promise<string | null> {
  const { rows } = await client.query<{ datname: string }>(
    'select k.datname from pg_database k join pg_database t on t.xmin = k.xmin where t.datname = $1 and k.datname = any($2::text[])',
    [target, candidates],
  );
  return rows[0]?.datname ?? null;
}

/** Ends every other session on `database`, waiting up to 5 s for each to be gone. */
async function endConnections(client: pg.Client, database: string): Promise<void> {
  await client.query(`select pg_terminate_backend(pid, 5000) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [database]);
}

/** Who keeps reconnecting, for the message when the swap cannot get the database to itself. */
async function sessionsOn(client: pg.Client, database: string): Promise<string> {
  const { rows } = await client.query<{ who: string }>(
    `select coalesce(nullif(application_name, ''), 'unnamed client') || ' from ' || coalesce(client_addr::text, 'local socket') as who
       from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`,
    [database],
  );
  return rows.map((r) => r.who).join(', ');
}

/** SQLSTATE 55006: "database is being accessed by other users". */
const OBJECT_IN_USE = '55006';
const SWAP_ATTEMPTS = 20;

/**
 * Renames in one transaction (with the `first` statements: the staging mark giving way), after
 * ending the sessions on both databases. A client that reconnects in between makes the rename
 * fail; then it is simply tried again. Nothing is changed outside it, so a worker dying here leaves
 * nothing to undo. A cancellation is heard up
 * to the commit: a person who cancels while the swap waits for clients keeps the database they have.
 */
async function renameExclusively(client: pg.Client, renames: [from: string, to: string][], cancel: AbortSignal, first: string[] = []): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (cancel.aborted) throw cancel.reason;
    for (const [from] of renames) await endConnections(client, from);
    try {
      await client.query('begin');
      for (const statement of first) await client.query(statement);
      for (const [from, to] of renames) await client.query(`alter database ${quoteIdent(from)} rename to ${quoteIdent(to)}`);
      if (cancel.aborted) throw cancel.reason;
      await client.query('commit');
      return;
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      if ((err as { code?: string }).code !== OBJECT_IN_USE) throw err;
      if (attempt >= SWAP_ATTEMPTS) {
        // Named only where sessions are (the live database; the staging copy has none of its own).
        const busy: string[] = [];
        for (const [from] of renames) {
          const who = await sessionsOn(client, from);
          if (who) busy.push(`"${from}" by ${who}`);
        }
        const used = busy.length > 0 ? `keeps being used: ${busy.join('; ')}` : `"${renames[0]![0]}" keeps being used by sessions that reconnect at once`;
        // Retried by Temporal for a while (see the swap's retry policy); the staging copy waits.
        throw ApplicationFailure.retryable(`cannot swap: ${used}; stop those clients (the restore keeps trying)`, FailureType.DatabaseError);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export async function swapIntoPlace(config: Config, req: SwapRequest): Promise<{ keptPrevious: string | null }> {
  assertStagingName(config, req.staging);
  const stopHeartbeat = heartbeatEvery(1_000, () => ({ phase: 'swapping in' }));
  const cancel = Context.current().cancellationSignal;
  try {
    return await withAdmin(config, async (client) => {
      // One query at a time: a pg client runs its queries in sequence anyway.
      const staging = await databaseOid(client, req.staging);
      const target = await databaseOid(client, req.target);
      const candidates = keptCandidates(req);
      if (staging === null) {
        if (target === req.stagingOid) return { keptPrevious: await keptBySwap(client, req.target, candidates) }; // an earlier attempt swapped
        throw failure(config, FailureType.RestoreFailed, `staging database "${req.staging}" disappeared before the swap; nothing was swapped. Run the restore again`);
      }
      if (target !== null && req.mode === 'create') {
        const problem = `database "${req.target}" appeared during the restore; it was left untouched`;
        throw refusal(config, FailureType.TargetExists, `${problem}. Restore into another target, or replace it (with confirmation)`, problem);
      }
      // The staging mark gives way to the database's own comment, held under it, in the renames' transaction:
      // until they commit, a restore stopped by any means leaves a marked database the sweep drops.
      const own = ownComment(await databaseComment(client, req.staging));
      const unmark = own === undefined ? [] : [`comment on database ${quoteIdent(req.staging)} is ${own === null ? 'null' : quoteLiteral(own)}`];
      if (target === null) {
        await renameExclusively(client, [[req.staging, req.target]], cancel, unmark);
        return { keptPrevious: null };
      }
      const { taken, free } = await firstFreeName(client, candidates);
      if (free === undefined) {
        throw failure(
          config,
          FailureType.RestoreFailed,
          `${taken.length === 1 ? `a database named ${taken[0]} exists` : `databases named ${taken[0]} to ${taken.at(-1)} exist`}, so "${req.target}" cannot be kept under its pre-restore name; nothing was swapped. Drop or rename them, and run the restore again`,
        );
      }
      await renameExclusively(
        client,
        [
          [req.target, free],
          [req.staging, req.target],
        ],
        cancel,
        unmark,
      );
      return { keptPrevious: free };
    });
  } finally {
    stopHeartbeat();
  }
}
