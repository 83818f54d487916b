/**
 * applyRetention, on every store: plan with the pure planner, then delete. Only complete backups
 * are candidates, so a streak of failed runs can never push a good backup out; the newest complete
 * backup of each store is always kept, and so is the one the calling backup run made (`made`); a
 * backup pinned by a running restore or drill is kept. Without a run that vouches for the newest
 * (prune), it is read back against its manifest before anything older is deleted.
 * A backup is deleted manifest first, so a crash mid-delete leaves no half backup that looks whole.
 * The sweep removes what crashed runs left, once it is a day old: unfinished writes (S3 multipart
 * uploads, posix partial files), objects of backups that never got a manifest (once a complete
 * backup is newer), stale pins.
 * A damaged backup is never counted: one the policy would keep were it intact is left for a person
 * to repair (listed DAMAGED); one damaged in its archive that the policy would let go anyway is
 * deleted like any other, since the intact copies a repair would take from go by the same policy in
 * their stores. A manifest misfiled, of another kind or unreadable stays for a person.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { classifyKey, GLOBALS_FOLDER } from '../common/backup-keys.js';
import type { Config } from '../common/config.js';
import { validateDatabaseName } from '../common/names.js';
import { FailureType } from '../common/errors.js';
import { isDatedInFuture, NEWEST_KEPT, planRetention, type RetentionDecision, type RetentionPolicy } from '../common/retention-plan.js';
import type { Leftover, RetentionRequest, RetentionResult, ServerChange, StoreRetention, StoreUnreachable } from '../common/types.js';
import { heartbeatEvery } from './heartbeat.js';
import { databasesHeld, listCatalog, STALE_PIN_MS, unreachableOrThrow, type CatalogEntry } from './store/backup-catalog.js';
import { manifestArchive, recordProvenDamage } from './store/damage-record.js';
import { allStores } from './store/open-stores.js';
import type { BackupStore } from './store/store.js';

/** Leftovers younger than this may belong to a run still going. */
const LEFTOVER_AGE_MS = 24 * 3_600_000;

function deleteOrder(entry: CatalogEntry): string[] {
  // Manifest first: from that moment the rest is a partial backup, which nothing mistakes for a backup.
  const rank = (key: string) => (classifyKey(key)?.part === 'manifest' ? 0 : 1);
  return entry.objects.map((o) => o.key).sort((a, b) => rank(a) - rank(b));
}

/**
 * What the sweep removes from the catalog's backups, and why: objects of a backup that never got
 * its manifest, and stale pins. Unfinished writes (partial files, multipart uploads) are the
 * store's own and come on top.
 */
function leftoversOf(entries: CatalogEntry[], nowMs: number): Leftover[] {
  // An archive without manifest may still restore (by its key): swept only once a complete backup
  // is newer, so the store's newest data is never lost to a manifest gone missing.
  // One dated in the future (a clock that ran ahead) proves nothing newer exists.
  const newestCompleteMs = Math.max(-Infinity, ...entries.filter((e) => e.status === 'complete' && !isDatedInFuture(e.createdAtMs, nowMs)).map((e) => e.createdAtMs));
  const leftovers: Leftover[] = [];
  for (const entry of entries) {
    const newest = Math.max(...entry.objects.map((o) => o.modifiedMs));
    if (entry.status === 'partial' && nowMs - newest > LEFTOVER_AGE_MS && entry.createdAtMs < newestCompleteMs) {
      const reason = `backup ${entry.id} never got its manifest (its run did not finish), is over a day old, and a complete backup is newer`;
      leftovers.push(...deleteOrder(entry).map((key) => ({ key, reason })));
      continue;
    }
    for (const pin of entry.objects.filter((o) => classifyKey(o.key)?.part === 'pin' && nowMs - o.modifiedMs >= STALE_PIN_MS)) {
      leftovers.push({ key: pin.key, reason: 'a pin left by a run that crashed' });
    }
  }
  return leftovers;
}

/**
 * Removes the leftovers and the stale unfinished writes in `folder`; a dry run only names them all.
 * Only the folder's: another database's run may write for longer than a day (a copy of a huge
 * database to a slow store), and only its own database's runs are known not to be going on.
 */
async function sweep(store: BackupStore, folder: string, leftovers: Leftover[], dryRun: boolean): Promise<Leftover[]> {
  const unfinished = (await store.sweepUnfinished(LEFTOVER_AGE_MS, `${folder}/`, { dryRun })).map((key) => ({ key, reason: 'an unfinished write left by a crash, over a day old' }));
  if (!dryRun) for (const { key } of leftovers) await store.delete(key);
  return [...unfinished, ...leftovers];
}

const PINNED = 'pinned: a restore or drill is reading it';

/**
 * Deletes a backup unless a restore or drill pinned it after the listing. The pins are looked at
 * again just before the manifest goes and once more just after: a pin written before that second
 * look puts the manifest back and keeps the backup. One written later finds no manifest, so that
 * restore refuses, rather than lose its archive halfway through.
 */
async function deleteUnlessPinned(store: BackupStore, folder: string, entry: CatalogEntry): Promise<boolean> {
  const [manifestKey, ...rest] = deleteOrder(entry);
  const pinned = async () => (await store.list(`${folder}/${entry.id}.pin.`)).some((p) => Date.now() - p.modifiedMs < STALE_PIN_MS);
  if (await pinned()) return false;
  const manifest = await store.getText(manifestKey!);
  await store.delete(manifestKey!);
  if (manifest !== undefined && (await pinned())) {
    await store.put(manifestKey!, manifest);
    return false;
  }
  for (const key of rest) await store.delete(key);
  return true;
}

/** The system identifier a database backup's manifest records (an old or hand-made manifest may have none). */
function systemIdentifierOf(entry: CatalogEntry | undefined): string | undefined {
  return entry?.manifest?.kind === 'database' ? entry.manifest.server?.systemIdentifier : undefined;
}

/**
 * Whether the backup the run made comes from another server than the complete backup before it
 * (newest first, those dated in the future aside). Expected once after an upgrade or a move; at
 * every backup when two servers write one database name into one store, whose backups retention
 * then counts together.
 */
function serverChange(complete: CatalogEntry[], made: string | undefined, nowMs: number): { serverChanged?: ServerChange } {
  const at = complete.findIndex((e) => e.id === made);
  if (at < 0) return {};
  const previous = complete.slice(at + 1).find((e) => !isDatedInFuture(e.createdAtMs, nowMs));
  const [now, before] = [systemIdentifierOf(complete[at]), systemIdentifierOf(previous)];
  if (now === undefined || before === undefined || now === before) return {};
  return { serverChanged: { id: made!, systemIdentifier: now, previousId: previous!.id, previousSystemIdentifier: before } };
}

/** The plan for `entries`' complete backups, pinned ones kept. */
function planFor(entries: CatalogEntry[], policy: RetentionPolicy, nowMs: number, made: string | undefined): RetentionDecision[] {
  const complete = new Map(entries.filter((e) => e.status === 'complete').map((e) => [e.id, e]));
  return planRetention(
    [...complete.values()].map((e) => ({ id: e.id, createdAtMs: e.createdAtMs })),
    policy,
    nowMs,
    made,
  ).map((d) => {
    const pinned = complete.get(d.id)!.activePins.length > 0;
    return d.action === 'delete' && pinned ? { ...d, action: 'keep' as const, reasons: [PINNED] } : d;
  });
}

/**
 * Backups of `entries` damaged in their archive that the policy lets go even as if they were
 * intact, with why. Each is planned among the complete ones alone, so that it takes no place a
 * whole backup needs (the plan of those is made without it). A manifest misfiled, of another kind
 * or unreadable is no backup of this folder to plan: it stays for a person.
 */
function damagedPastPolicy(entries: CatalogEntry[], policy: RetentionPolicy, nowMs: number, made: string | undefined): RetentionDecision[] {
  const past: RetentionDecision[] = [];
  for (const damaged of entries.filter((e) => e.status === 'damaged' && e.archiveDamaged && e.activePins.length === 0)) {
    const candidates = entries.filter((e) => e.status === 'complete' || e === damaged).map((e) => ({ id: e.id, createdAtMs: e.createdAtMs }));
    const decision = planRetention(candidates, policy, nowMs, made).find((d) => d.id === damaged.id)!;
    if (decision.action === 'delete') past.push({ ...decision, reasons: [`DAMAGED (${damaged.reason ?? 'damaged'}), and past the policy as if intact: ${decision.reasons.join('; ')}`] });
  }
  return past;
}

/**
 * Before a retention run that no backup run vouches for (prune) deletes anything, the backup it
 * keeps as the newest is read back against its manifest: a complete listing proves only the
 * sizes, and deleting the older backups behind a newest one that rotted would lose the last good
 * one. One found damaged is recorded (as verify does) and the next newest is read, and so on.
 */
async function newestReadBack(store: BackupStore, folder: string, listed: CatalogEntry[], plan: (entries: CatalogEntry[]) => RetentionDecision[]): Promise<CatalogEntry[]> {
  const ctx = Context.current();
  let entries = listed;
  for (;;) {
    const decisions = plan(entries);
    const newest = decisions.find((d) => d.reasons.includes(NEWEST_KEPT));
    if (!newest || !decisions.some((d) => d.action === 'delete')) return entries;
    const entry = entries.find((e) => e.id === newest.id)!;
    for (const file of entry.manifest!.files) {
      const read = await recordProvenDamage(store, manifestArchive(folder, entry.id, file), ctx.info.workflowExecution, ctx.cancellationSignal);
      if (read.verdict === 'intact') continue;
      if (read.verdict !== 'damaged') {
        // Not known whether the newest is whole: nothing is deleted there (the activity is retried).
        throw ApplicationFailure.retryable(
          `retention read the newest backup ${entry.id} back from ${store.url} before deleting older ones, and could not judge it (${read.verdict === 'changed' ? 'it was written again meanwhile' : read.error.message}); nothing was deleted there`,
          FailureType.StoreFailed,
        );
      }
      // A record that could not be written (a store this worker may only read) is said with the reason.
      const reason = [`read back by retention: ${read.reason}`, ...read.warnings.filter((w) => w.includes('could not be recorded'))].join('; ');
      entries = entries.map((e) => (e === entry ? { ...e, status: 'damaged' as const, reason } : e));
      break;
    }
    if (entries.find((e) => e.id === entry.id)!.status === 'complete') return entries;
  }
}

/** `listed`: the store's catalog of `folder`, read by the caller (a store that cannot be read is its to report). */
async function retainOn(store: BackupStore, folder: string, listed: CatalogEntry[], req: RetentionRequest & { policy: RetentionPolicy }, nowMs: number): Promise<StoreRetention> {
  const { policy, made } = req;
  const dryRun = req.dryRun === true;
  const plannedFor = (e: CatalogEntry[]) => planFor(e, policy, nowMs, made);
  const entries = dryRun || made !== undefined ? listed : await newestReadBack(store, folder, listed, plannedFor);
  const byId = new Map(entries.map((e, at) => [e.id, { entry: e, at }]));
  const plan = [...plannedFor(entries), ...damagedPastPolicy(entries, policy, nowMs, made)].sort((a, b) => byId.get(a.id)!.at - byId.get(b.id)!.at); // newest first, as listed
  const deleted: string[] = [];
  if (!dryRun) {
    for (const decision of plan.filter((d) => d.action === 'delete')) {
      if (await deleteUnlessPinned(store, folder, byId.get(decision.id)!.entry)) deleted.push(decision.id);
      else Object.assign(decision, { action: 'keep', reasons: [PINNED] });
    }
  }
  // A backup retention deletes takes its pins with it: they are no leftovers to sweep again.
  const deleting = new Set(plan.filter((d) => d.action === 'delete').map((d) => d.id));
  const remaining = entries.filter((e) => !deleting.has(e.id));
  const leftovers = bounded(await sweep(store, folder, leftoversOf(remaining, nowMs), dryRun), MAX_LISTED_OTHERS);
  const damaged = bounded(
    remaining.filter((e) => e.status === 'damaged' || e.status === 'newer').map((e) => ({ id: e.id, createdAt: new Date(e.createdAtMs).toISOString(), reason: e.reason ?? 'damaged', ...(e.status === 'newer' ? { newer: true as const } : {}) })),
    MAX_LISTED_OTHERS,
  );
  const listedDeleted = bounded(deleted, MAX_LISTED_DECISIONS);
  // The newest kept (what survives), every deletion (what a dry run is read for), then the other
  // kept, up to the bound; shown newest first.
  const [keeps, deletions] = [plan.filter((d) => d.action === 'keep'), plan.filter((d) => d.action === 'delete')];
  const shown = new Set([...keeps.slice(0, NEWEST_KEPT_LISTED), ...deletions, ...keeps.slice(NEWEST_KEPT_LISTED)].slice(0, MAX_LISTED_DECISIONS));
  const notShown = plan.filter((d) => !shown.has(d));
  return {
    store: store.url,
    kept: plan.filter((d) => d.action === 'keep').length,
    deleted: listedDeleted.listed,
    ...(listedDeleted.notListed ? { deletedNotListed: listedDeleted.notListed } : {}),
    swept: dryRun ? [] : leftovers.listed.map((l) => l.key),
    leftovers: leftovers.listed,
    ...(leftovers.notListed ? { sweptNotListed: leftovers.notListed } : {}),
    plan: plan.filter((d) => shown.has(d)),
    ...(notShown.length ? { planNotListed: { keep: notShown.filter((d) => d.action === 'keep').length, delete: notShown.filter((d) => d.action === 'delete').length } } : {}),
    damaged: damaged.listed,
    ...(damaged.notListed ? { damagedNotListed: damaged.notListed } : {}),
    ...serverChange(entries.filter((e) => e.status === 'complete'), made, nowMs),
  };
}

/** Decisions (and deleted ids) listed per store: about 100 kB. */
const MAX_LISTED_DECISIONS = 1_000;
/** The newest backups kept are listed whatever else is. */
const NEWEST_KEPT_LISTED = 100;
/** Damaged backups and leftovers listed per store, each with its reason. */
const MAX_LISTED_OTHERS = 100;

function bounded<T>(items: T[], max: number): { listed: T[]; notListed: number } {
  return { listed: items.slice(0, max), notListed: Math.max(0, items.length - max) };
}

export async function applyRetention(config: Config, req: RetentionRequest): Promise<RetentionResult> {
  const folder = req.globals ? GLOBALS_FOLDER : validateDatabaseName(req.database);
  const policy: RetentionPolicy = req.policy ?? { maxAgeDays: config.retentionDays };
  const nowMs = Date.now();
  const stopHeartbeat = heartbeatEvery(1_000, () => ({ phase: 'applying retention' }));
  try {
    const stores: StoreRetention[] = [];
    const unreachable: StoreUnreachable[] = [];
    for (const store of allStores(config)) {
      let listed: CatalogEntry[];
      try {
        listed = await listCatalog(store, folder, nowMs);
      } catch (err) {
        if (req.unreachable !== 'report') throw err;
        unreachable.push(unreachableOrThrow(store, err));
        continue;
      }
      // A store that lists but refuses a delete (read-only to this worker) fails here, as itself: trying again later cannot help.
      stores.push(await retainOn(store, folder, listed, { ...req, policy }, nowMs));
    }
    // No store holds a backup of it: the names they hold, for a "did you mean" (a typo is likelier).
    const none = !req.globals && stores.every((s) => s.plan.length === 0 && s.damaged.length === 0);
    const others = none ? await databasesHeld(allStores(config).filter((s) => !unreachable.some((u) => u.store === s.url))) : undefined;
    return { policy, stores, ...(req.unreachable === 'report' ? { unreachable } : {}), ...(others?.length ? { others } : {}) };
  } finally {
    stopHeartbeat();
  }
}
