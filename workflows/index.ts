/** Every workflow the pgkeeper worker registers. This file is the root of the workflow bundle. */
export { backupDatabase } from './backup-database.js';
export { restoreDatabase } from './restore-database.js';
export { backupCluster } from './backup-cluster.js';
export { applyRetention } from './apply-retention.js';
export { restoreDrill } from './restore-drill.js';
export { listBackups } from './list-backups.js';
export { listDatabases } from './list-databases.js';
export { verifyBackups } from './verify-backups.js';
