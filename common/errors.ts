/**
 * Failure types shared by activities, workflows and the CLI. Their names are the `type` of
 * Temporal ApplicationFailures, so retry policies can list the ones that must not be retried.
 */
export const FailureType = {
  InvalidInput: 'InvalidInput',
  AuthenticationFailed: 'AuthenticationFailed',
  DatabaseMissing: 'DatabaseMissing',
  /** Retryable while it may pass; waitForDatabase marks it final once its deadline is over. */
  DatabaseUnreachable: 'DatabaseUnreachable',
  /** An SQL error that is not about connecting (e.g. a rename refused while sessions remain): retried a few times. */
  DatabaseError: 'DatabaseError',
  PgToolTooOld: 'PgToolTooOld',
  CorruptArchive: 'CorruptArchive',
  ChecksumMismatch: 'ChecksumMismatch',
  DiskFull: 'DiskFull',
  /** SCRATCH_DIR cannot be created or written: final when the path cannot be a writable directory, retried on an I/O error. */
  ScratchUnusable: 'ScratchUnusable',
  BackupNotFound: 'BackupNotFound',
  TargetExists: 'TargetExists',
  ConnectionsNotAllowed: 'ConnectionsNotAllowed',
  RolesMissing: 'RolesMissing',
  /** The archive puts tables in a tablespace this server lacks. */
  TablespacesMissing: 'TablespacesMissing',
  RestoreFailed: 'RestoreFailed',
  ValidationFailed: 'ValidationFailed',
  /** A pg tool failed for a reason that may pass (server restarting, connection dropped): retried. */
  PgToolFailed: 'PgToolFailed',
  /** A pg tool killed by a signal we did not send (the OOM killer, an operator): says nothing about the archive. */
  PgToolKilled: 'PgToolKilled',
  /** zstd, age or a pg tool is not installed on the worker. */
  ToolMissing: 'ToolMissing',
  /** The newest backup (or the one asked for) exists but is damaged: unreadable manifest, missing or wrong-sized archive. */
  BackupDamaged: 'BackupDamaged',
  /** The archive's header names another database than the one claimed for it. */
  WrongDatabase: 'WrongDatabase',
  /** The backup is encrypted and this worker holds no matching age identity. */
  IdentityMissing: 'IdentityMissing',
  /** The manifest was written by a newer pgkeeper: a filter or a manifestVersion this one does not know. */
  UnknownFilter: 'UnknownFilter',
  /** The server cannot create a database with the backup's encoding or locale. */
  LocaleUnavailable: 'LocaleUnavailable',
  /** Credentials refused by the store. */
  StoreAccessDenied: 'StoreAccessDenied',
  /** The store's bucket or directory does not exist. */
  StoreMissing: 'StoreMissing',
  /** The store did not answer (down, timed out, 5xx): retried. */
  StoreUnavailable: 'StoreUnavailable',
  /** Another pgkeeper operation holds the database. */
  DatabaseBusy: 'DatabaseBusy',
  /** DB_USER lacks a privilege the tool needs (reading a table, say): a grant is the fix, not a retry. */
  PermissionDenied: 'PermissionDenied',
  /** Any other store error (an unexpected S3 error code): retried, its code named in the message, unless thrown final (a store that lists keys changed). */
  StoreFailed: 'StoreFailed',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Failures that the same input will hit again: retrying them only delays the page to on-call. */
export const NON_RETRYABLE_FAILURES: FailureType[] = [
  FailureType.InvalidInput,
  FailureType.PermissionDenied,
  FailureType.AuthenticationFailed,
  FailureType.DatabaseMissing,
  FailureType.PgToolTooOld,
  FailureType.CorruptArchive,
  FailureType.ChecksumMismatch,
  FailureType.DiskFull,
  FailureType.BackupNotFound,
  FailureType.TargetExists,
  FailureType.ConnectionsNotAllowed,
  FailureType.RolesMissing,
  FailureType.TablespacesMissing,
  FailureType.RestoreFailed,
  FailureType.ValidationFailed,
  FailureType.ToolMissing,
  FailureType.BackupDamaged,
  FailureType.WrongDatabase,
  FailureType.IdentityMissing,
  FailureType.UnknownFilter,
  FailureType.LocaleUnavailable,
  FailureType.StoreAccessDenied,
  FailureType.StoreMissing,
  FailureType.DatabaseBusy,
];

/** Bad input: thrown by validators; workflows turn it into a non-retryable failure. */
export class InputError extends Error {
  override readonly name = 'InputError';
}
