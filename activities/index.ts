/**
 * The activities a pgkeeper worker registers, bound to the worker's configuration.
 * Workflows import this module's type only (`import type`), never its code.
 */
import type { Config } from '../common/config.js';
import type { DumpRequest, PublishRequest, RetentionRequest } from '../common/types.js';
import { applyRetention } from './apply-retention.js';
import { dumpDatabase } from './dump-database.js';
import { publishBackup } from './publish-backup.js';
import { verifyArchive, type VerifyRequest } from './verify-archive.js';
import { waitForDatabase, type WaitRequest } from './wait-for-database.js';

export function createActivities(config: Config) {
  return {
    waitForDatabase: (req: WaitRequest) => waitForDatabase(config, req),
    dumpDatabase: (req: DumpRequest) => dumpDatabase(config, req),
    verifyArchive: (req: VerifyRequest) => verifyArchive(config, req),
    publishBackup: (req: PublishRequest) => publishBackup(config, req),
    applyRetention: (req: RetentionRequest) => applyRetention(config, req),
  };
}

export type Activities = ReturnType<typeof createActivities>;
