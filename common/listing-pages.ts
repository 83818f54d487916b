/**
 * A listing of the stores comes in pages. Temporal refuses a result over 2 MB (and its server logs
 * a warning over 512 kB); at a few hundred bytes a backup, a store of a few thousand backups (a
 * cluster's databases, kept a month) would not fit in one. The worker answers one page at a time
 * and says where the next starts; the CLI asks until none remains and joins them.
 */
import { createdAtMsIn, GLOBALS_FOLDER } from './backup-keys.js';
import { InputError } from './errors.js';
import { checkFields, quoteInput } from './input-fields.js';
import { validateDatabaseName } from './names.js';
import type { BackupListing, ListingCursor } from './types.js';

/** A page's share of Temporal's payload limit: under the 512 kB the server warns about. */
export const LISTING_PAGE_BYTES = 400_000;

type Dated = { createdAt: string; finishedAt: string | null };

/**
 * Newest first. Backups of one second (ids are to the second) by when they finished, which their
 * manifests say to the millisecond; a damaged one without keeps the order it came in (a stable sort).
 */
export function listedNewestFirst(a: Dated, b: Dated): number {
  const [x, y] = a.createdAt === b.createdAt && a.finishedAt && b.finishedAt ? [a.finishedAt, b.finishedAt] : [a.createdAt, b.createdAt];
  return x < y ? 1 : x > y ? -1 : 0;
}

/**
 * Checks a cursor given back (`from`, as the last page's `next` said): a folder the listing pages
 * through (the database asked for, if one is), and an id of that folder to go on after.
 */
export function validateListingCursor(cursor: unknown, database: string | undefined): ListingCursor {
  const example = `{"folder": "app", "after": "app-20261124T020000Z-1a2b3c4d"}, as a listing's "next" gives it`;
  const { folder, after } = checkFields(cursor, ['folder', 'after'], '"from"', example);
  if (folder !== GLOBALS_FOLDER) validateDatabaseName(folder, 'from.folder');
  if (database !== undefined && folder !== database) throw new InputError(`from.folder is ${quoteInput(folder)}, but this listing is of database "${database}": pass the "next" of a listing of "${database}"`);
  const name = folder as string; // validated above
  if (after === undefined) return { folder: name };
  if (typeof after !== 'string' || createdAtMsIn(name, after) === undefined) throw new InputError(`from.after must be the id of a backup in folder ${quoteInput(folder)}, as a listing's "next" gives it; got ${quoteInput(after)}`);
  return { folder: name, after };
}

/**
 * The pages of one listing as one, newest first. A store that did not answer for any page is
 * named once (its copies may be missing from the whole); the stores are the first page's.
 */
export function joinListingPages(pages: BackupListing[]): BackupListing {
  const unreachable = new Map(pages.flatMap((p) => p.unreachable).map((u) => [u.store, u]));
  return {
    stores: pages[0]!.stores,
    unreachable: [...unreachable.values()],
    backups: pages.flatMap((p) => p.backups).sort(listedNewestFirst),
    globals: pages.flatMap((p) => p.globals ?? []).sort(listedNewestFirst),
    ...(pages[0]!.others ? { others: pages[0]!.others } : {}),
  };
}
