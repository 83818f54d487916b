/**
 * What the worker proves before it takes work, so a mistake shows as one line at start rather than
 * as a failed backup at 3 a.m.: the stores answer with the configured credentials, the encryption
 * keys read, the scratch directory restores use can be written, and the tools the default chain
 * needs are installed.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { encryptionRecipients, identityRecipients } from '../activities/encryption.js';
import { scratchDirectory } from '../activities/restore-archive.js';
import { allStores } from '../activities/store/open-stores.js';
import { requireTools } from '../activities/stream/tool-check.js';
import type { Config } from '../common/config.js';

/** Returns the problems that must stop the worker; logs the ones that may pass (a store down for a moment). */
export async function startupProblems(config: Config, logger: Logger): Promise<string[]> {
  const problems: string[] = [];
  const note = (err: unknown) => {
    if (err instanceof ApplicationFailure && !err.nonRetryable) logger.warn(`${err.message} (the worker starts anyway; runs retry)`);
    else problems.push((err as Error).message);
  };
  for (const store of allStores(config)) await store.check().catch(note);
  const recipients = await encryptionRecipients(config).catch((err: unknown) => (note(err), []));
  await identityRecipients(config).catch(note);
  await scratchDirectory(config).catch(note);
  await requireTools([...(recipients.length ? ['age'] : []), 'zstd']).catch(note);
  return problems;
}
