/**
 * The filters of the archive stream as tools: zstd and age run as processes (both beat JavaScript
 * by far and use another core), forward when backing up and inverted when restoring. The age
 * identity (private key) is only ever a file path handed to `age -i`: never read, logged or sent.
 */
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/errors.js';
import type { FilterStep } from '../../common/filters.js';
import type { ToolSpec } from './tool-process.js';

/** age closes every error with a line asking for bug reports: about a damaged archive it has none to make. */
const withoutReportLine = (stderr: string) =>
  stderr
    .split(' | ')
    .filter((line) => !/report unexpected or unhelpful errors/.test(line))
    .join(' | ');

const damaged = (what: string, stderr: string) =>
  ApplicationFailure.nonRetryable(`${what} (${withoutReportLine(stderr) || 'no message'}): the archive is damaged or was changed; restore another backup, or this one from another store if it has a copy`, FailureType.CorruptArchive);

export function forwardTool(step: FilterStep): ToolSpec {
  if (step.filter === 'zstd') {
    return {
      name: 'zstd',
      file: 'zstd',
      // -T0: as many threads as cores; pg_dump's own work leaves one free. -vv: the summary on
      // stderr gives the exact bytes in (zstdInputBytes), so nothing else has to count them.
      args: [`-${step.level}`, '-T0', '-vv', '-c'],
      classify: ({ exitCode, stderr }) => ApplicationFailure.retryable(`zstd failed compressing the archive (exit code ${exitCode}): ${stderr}`, FailureType.PgToolFailed),
    };
  }
  return {
    name: 'age',
    file: 'age',
    args: ['--encrypt', ...step.recipients.flatMap((r) => ['--recipient', r])],
    classify: ({ exitCode, stderr }) => ApplicationFailure.nonRetryable(`age could not encrypt the archive (exit code ${exitCode}): ${stderr}; check ENCRYPT_RECIPIENTS`, FailureType.InvalidInput),
  };
}

/**
 * The bytes zstd read, from the summary `zstd -vv` prints: "(349254891 B => 103401654 B," (zstd
 * 1.5; small sizes are padded, "(  1672 B =>    739 B,") or "(349254891 => 103401654 bytes," (1.4).
 */
export function zstdInputBytes(stderr: string): number {
  const match = /\(\s*(\d+)\s*B?\s*=>\s*(\d+)\s*(?:B|bytes)\b/.exec(stderr);
  if (!match) {
    throw ApplicationFailure.nonRetryable(
      `zstd printed no size summary (${stderr.trim().split('\n').slice(-2).join(' | ') || 'nothing on stderr'}); install zstd 1.4 or newer on the worker`,
      FailureType.ToolMissing,
    );
  }
  return Number(match[1]);
}

/**
 * `identityListed`: the manifest lists a key of AGE_IDENTITY_FILE among the archive's recipients
 * (checked before the chain starts), so age matching none of them is damage to the archive's
 * header, worth its copy, not a key to fix.
 */
export function inverseTool(step: FilterStep, identityFile: string | undefined, label: string, identityListed = false): ToolSpec {
  if (step.filter === 'zstd') {
    return {
      name: 'zstd',
      file: 'zstd',
      args: ['-d', '-q', '-c'],
      // It writes the scratch file itself: a full disk is its error too, and no damage of the archive.
      classify: ({ stderr }) =>
        /no space left on device/i.test(stderr)
          ? ApplicationFailure.nonRetryable(`no space left on device while zstd wrote the decompressed archive into the scratch file (${stderr}); free space in SCRATCH_DIR or point it at a larger disk`, FailureType.DiskFull)
          : damaged('zstd cannot decompress the archive', stderr),
    };
  }
  if (!identityFile) throw identityMissing(step.recipients, identityFile, label);
  return {
    name: 'age',
    file: 'age',
    args: ['--decrypt', '--identity', identityFile],
    classify: ({ stderr }) =>
      /no identity matched/i.test(stderr)
        ? identityListed
          ? damaged('age cannot decrypt the archive with AGE_IDENTITY_FILE, whose key its manifest lists among the recipients', stderr)
          : identityMissing(step.recipients, identityFile, label)
        : stderr.includes(`reading "${identityFile}"`)
          ? identityUnreadable(identityFile, withoutReportLine(stderr))
          : damaged('age cannot decrypt the archive', stderr),
  };
}

/** The identity file itself, not the archive, is what age could not read. */
export function identityUnreadable(identityFile: string, detail: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`AGE_IDENTITY_FILE ${identityFile} cannot be read as an age identity (${detail || 'no message'}); point it at the file age-keygen wrote, readable by the worker's user`, FailureType.InvalidInput);
}

/** `label`: the backup (its id, or key), or "globals backup <id>". */
export function identityMissing(recipients: string[], identityFile: string | undefined, label: string): ApplicationFailure {
  const encrypted = recipients.length ? `${label} is encrypted to ${recipients.join(', ')}` : `${label} is encrypted (to keys not recorded: it has no manifest)`;
  return ApplicationFailure.nonRetryable(
    identityFile
      ? `${encrypted}, and AGE_IDENTITY_FILE on this worker holds none of their identities; point AGE_IDENTITY_FILE at the matching age identity (private key) file`
      : `${encrypted}, and AGE_IDENTITY_FILE is not set on this worker; set it on the worker that restores to the matching age identity (private key) file`,
    FailureType.IdentityMissing,
  );
}
