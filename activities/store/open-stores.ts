/**
 * The worker's stores, from its configuration: the primary (BACKUP_STORE or BACKUP_DIR) and the copy
 * stores (BACKUP_COPIES). One driver object per store for the life of the process.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../../common/config.js';
import { FailureType } from '../../common/errors.js';
import { quoteInput } from '../../common/input-fields.js';
import { parseStoreUrl, type StoreSpec } from '../../common/store-url.js';
import { openPosixStore } from './posix-store.js';
import { openS3Store } from './s3-store.js';
import type { BackupStore } from './store.js';

const opened = new Map<string, BackupStore>();

export function openStore(spec: StoreSpec): BackupStore {
  let store = opened.get(spec.url);
  if (!store) {
    store =
      spec.kind === 'file'
        ? openPosixStore(spec.path, spec.variable, { makeRoot: spec.madeByPgkeeper === true })
        : openS3Store(spec.url, { ...(spec.endpoint ? { endpoint: spec.endpoint } : {}), ...(spec.region ? { region: spec.region } : {}) });
    opened.set(spec.url, store);
  }
  return store;
}

export function primaryStore(config: Config): BackupStore {
  return openStore(config.stores.primary);
}

export function copyStores(config: Config): BackupStore[] {
  return config.stores.copies.map(openStore);
}

/** Every store, primary first: the order in which restores look for a backup. */
export function allStores(config: Config): BackupStore[] {
  return [primaryStore(config), ...copyStores(config)];
}

/** The configured store an input names by its URL. */
export function namedStore(config: Config, url: string): BackupStore {
  // As shown by `pgkeeper backups`, as written in BACKUP_COPIES (its ?endpoint= left out of the
  // label), or a directory's path as BACKUP_DIR gives it.
  const label = (url.startsWith('/') ? `file://${url}` : url).replace(/[?#].*$/, '').replace(/\/+$/, '');
  // Read as the configuration reads a store (a prefix percent-encoded, say), when it reads at all.
  const parsed = (() => {
    try {
      return parseStoreUrl(url, '--store', (p) => p).url;
    } catch {
      return undefined;
    }
  })();
  const store = allStores(config).find((s) => s.url === url || s.url === label || s.url === parsed);
  if (!store) {
    throw ApplicationFailure.nonRetryable(
      `store ${quoteInput(url)} is not one of this worker's stores (${allStores(config).map((s) => s.url).join(', ')}); see BACKUP_STORE and BACKUP_COPIES (BACKUP_DIR: the primary as a directory's path)`,
      FailureType.InvalidInput,
    );
  }
  return store;
}
