/**
 * The activities a pgkeeper worker registers, bound to the worker's configuration.
 * Workflows import this module's type only (`import type`), never its code.
 */
import type { Config } from '../common/config.js';
import type { DrillProof, DumpRequest, PublishRequest, RetentionRequest } from '../common/types.js';
import { applyRetention } from './apply-retention.js';
import { dropStagingDatabase, swapIntoPlace, type SwapRequest } from './database-admin.js';
import { dumpDatabase } from './dump-database.js';
import { recordDrillProof } from './drill-proof.js';
import { applyGlobals, dumpGlobals } from './globals.js';
import { listClusterDatabases } from './list-databases.js';
import { checkTargetAndRoles, type PreflightRequest } from './preflight-restore.js';
import { unpinBackup } from './pin-archive.js';
import { publishBackup } from './publish-backup.js';
import { reportOutcome } from './report-outcome.js';
import type { OutcomeReport } from '../common/outcome-report.js';
import { resolveBackup, type ResolveRequest } from './resolve-backup.js';
import { restoreIntoStaging, type RestoreArchiveRequest } from './restore-archive.js';
import { validateStaging, type ValidateRequest } from './validate-restore.js';
import { verifyArchive, verifyArchiveAt, type VerifyRequest } from './verify-archive.js';
import { verifyChecksum, type ChecksumRequest } from './verify-checksum.js';
import { waitForDatabase, type WaitRequest } from './wait-for-database.js';

export function createActivities(config: Config) {
  return {
    // backup
    waitForDatabase: (req: WaitRequest) => waitForDatabase(config, req),
    dumpDatabase: (req: DumpRequest) => dumpDatabase(config, req),
    verifyArchive: (req: VerifyRequest) => verifyArchive(config, req),
    publishBackup: (req: PublishRequest) => publishBackup(config, req),
    applyRetention: (req: RetentionRequest) => applyRetention(config, req),
    // restore
    resolveBackup: (req: ResolveRequest) => resolveBackup(config, req),
    unpinBackup: (req: { pin: string }) => unpinBackup(config, req),
    verifyChecksum: (req: ChecksumRequest) => verifyChecksum(config, req),
    verifyArchiveAt: (req: { dumpPath: string }) => verifyArchiveAt(config, req),
    checkTargetAndRoles: (req: PreflightRequest) => checkTargetAndRoles(config, req),
    restoreIntoStaging: (req: RestoreArchiveRequest) => restoreIntoStaging(config, req),
    validateStaging: (req: ValidateRequest) => validateStaging(config, req),
    swapIntoPlace: (req: SwapRequest) => swapIntoPlace(config, req),
    dropStagingDatabase: (req: { staging: string }) => dropStagingDatabase(config, req),
    applyGlobals: (req: { globals: string }) => applyGlobals(config, req),
    recordDrillProof: (proof: DrillProof) => recordDrillProof(config, proof),
    // whole server
    listClusterDatabases: (req: { include: string[]; exclude: string[] }) => listClusterDatabases(config, req),
    dumpGlobals: (req: { globalsId: string }) => dumpGlobals(config, req),
    // audit
    reportOutcome: (report: OutcomeReport) => reportOutcome(config, report),
  };
}

export type Activities = ReturnType<typeof createActivities>;
