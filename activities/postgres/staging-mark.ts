/**
 * The mark a staging or drill database carries, in its comment, while it is pgkeeper's work in
 * progress: what one left behind is told apart by from a database of someone else's with a name of
 * the same shape (the sweep drops by it, `backup --all` leaves it out). It stays until the swap,
 * which sets the database's own comment (held under the mark meanwhile, never in workflow history)
 * in the transaction that renames it; a drill's is dropped with it.
 */
export const STAGING_MARK = 'pgkeeper: work in progress of a restore or drill';

/** Between the mark and the database's own comment, when it has one. */
const OWN_COMMENT = '\n-- its own comment, set when it is swapped in:\n';

/** The mark of a staging database `madeBy` (a workflow id) is restoring into, made at `atMs`. */
export function markComment(madeBy: string, atMs: number): string {
  return `${STAGING_MARK} (workflow ${madeBy}, made ${new Date(atMs).toISOString()}); dropped when the run ends, or by a later one once two days old`;
}

/** When the marked database was made (ms); undefined when `comment` is no mark. */
export function markedAt(comment: string | null): number | undefined {
  if (!comment?.startsWith(STAGING_MARK)) return undefined;
  const made = /, made (\d{4}-\d\d-\d\dT[\d:.]+Z)\)/.exec(comment.split('\n')[0]!);
  return made ? Date.parse(made[1]!) : undefined;
}

/** The comment that keeps `current`'s mark and holds `own` under it (`own` itself when unmarked). */
export function withOwnComment(current: string | null, own: string | null): string | null {
  if (!current?.startsWith(STAGING_MARK)) return own;
  const mark = current.split(OWN_COMMENT)[0]!;
  return own === null ? mark : `${mark}${OWN_COMMENT}${own}`;
}

/** The database's own comment a marked one holds (null: none); undefined when `current` is no mark. */
export function ownComment(current: string | null): string | null | undefined {
  if (!current?.startsWith(STAGING_MARK)) return undefined;
  const at = current.indexOf(OWN_COMMENT);
  return at < 0 ? null : current.slice(at + OWN_COMMENT.length);
}
