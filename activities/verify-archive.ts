/**
 * verifyArchive: the stored archive is there, with exactly the bytes the stream counted. The table
 * of contents and (with verify "full") every data block were already read back by pg_restore
 * while the archive was written; this step proves the store kept what it was given.
 */
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../common/errors.js';
import type { Config } from '../common/config.js';
import type { ManifestFile } from '../common/manifest.js';
import { primaryStore } from './store/open-stores.js';

export interface VerifyRequest {
  database: string;
  archive: ManifestFile;
}

export async function verifyArchive(config: Config, req: VerifyRequest): Promise<{ durationMs: number }> {
  const startedMs = Date.now();
  const store = primaryStore(config);
  const key = `${req.database}/${req.archive.name}`;
  const stored = await store.stat(key);
  if (stored?.sizeBytes !== req.archive.sizeBytes) {
    // The dump itself must be redone: retrying this check cannot help.
    throw ApplicationFailure.nonRetryable(
      `${key} in ${store.url} is ${stored ? `${stored.sizeBytes} bytes` : 'missing'}, but ${req.archive.sizeBytes} bytes were written: the store did not keep the archive; the next backup will try again`,
      FailureType.CorruptArchive,
    );
  }
  return { durationMs: Date.now() - startedMs };
}
