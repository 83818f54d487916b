/**
 * The `.sha256` sidecar is what `sha256sum -c` reads where pgkeeper is not (the README's restore
 * with no pgkeeper at all). One that disagrees with an archive that matches its manifest would send
 * a person after damage there is none of, or let them trust bytes nobody checked; one missing
 * leaves them nothing to check with. Said as warnings: the backup itself is sound.
 */
import path from 'node:path';
import { sidecarKey } from '../../common/backup-keys.js';
import { sidecarHash } from '../publish-backup.js';
import type { BackupStore } from './store.js';

/** What is wrong with the sidecar of `archiveKey`, whose bytes match `sha256`; a missing one only when `missingToo`. */
export async function sidecarWarning(store: BackupStore, archiveKey: string, sha256: string, missingToo = false): Promise<string | undefined> {
  const sidecar = sidecarKey(archiveKey);
  const text = await store.getText(sidecar).catch(() => undefined);
  const rewrite = `write it again (sha256sum ${path.posix.basename(archiveKey)} > ${path.posix.basename(sidecar)}, in the backup's folder)`;
  if (text === undefined) {
    // Only beside an archive still there: not when the store went away (or the backup was deleted) since it was read.
    if (!missingToo || !(await store.stat(archiveKey).catch(() => undefined))) return undefined;
    return `${sidecar} is missing in ${store.url}: \`sha256sum -c\` has nothing to check the archive with; ${rewrite}`;
  }
  if (sidecarHash(text) === sha256) return undefined;
  return `${sidecar} in ${store.url} disagrees with its archive, which matches its manifest: \`sha256sum -c\` would report damage there is none of; ${rewrite}`;
}
