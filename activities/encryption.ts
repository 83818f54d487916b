/**
 * The worker's age keys. Workers that back up hold recipients (public keys) only; the identity
 * (private key) is on workers that restore, as a file handed to `age -i`. This module reads the
 * recipients and derives the identity's public keys (`age-keygen -y`), to say before anything is
 * created whether a backup can be decrypted here. The identity's contents never leave the file.
 */
import { promises as fs } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { toolEnvironment } from './stream/tool-env.js';
import { AGE_RECIPIENT, privateKeyAsRecipient, privateKeyIn, type Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';

/** The recipients every new backup is encrypted to: ENCRYPT_RECIPIENTS' keys, or the keys in its file. */
export async function encryptionRecipients(config: Config): Promise<string[]> {
  const setting = config.encryption.recipients;
  if (!setting) return [];
  if ('keys' in setting) return setting.keys;
  let text: string;
  try {
    text = await fs.readFile(setting.file, 'utf8');
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`ENCRYPT_RECIPIENTS: cannot read ${setting.file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); give age public keys or a readable file of them`, FailureType.InvalidInput);
  }
  const keys = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  // Not in comment lines, which may say where a private key is kept; age-keygen writes the key on a line of its own.
  if (privateKeyIn(keys.join('\n'))) throw ApplicationFailure.nonRetryable(`ENCRYPT_RECIPIENTS: ${privateKeyAsRecipient(setting.file)}`, FailureType.InvalidInput);
  const bad = keys.find((k) => !AGE_RECIPIENT.test(k));
  if (bad !== undefined || keys.length === 0) {
    throw ApplicationFailure.nonRetryable(
      `ENCRYPT_RECIPIENTS: ${setting.file} must list age public keys (age1…), one per line${bad ? `; found "${bad.slice(0, 20)}…"` : '; it lists none'}`,
      FailureType.InvalidInput,
    );
  }
  return keys;
}

/** age's own first error line, without its program prefix; not its closing "report unexpected errors" line. */
function ageError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.replace(/^age(-keygen)?: /, '').trim()).filter(Boolean);
  return (lines.find((l) => l.startsWith('error:')) ?? lines[0] ?? 'no message').replace(/^error: /, '');
}

const identityKeys = new Map<string, Promise<string[]>>();

/** The public keys of the identities in AGE_IDENTITY_FILE ([] when unset). */
export async function identityRecipients(config: Config): Promise<string[]> {
  const file = config.encryption.identityFile;
  if (!file) return [];
  let keys = identityKeys.get(file);
  if (!keys) {
    keys = (async () => {
      const result = await execa('age-keygen', ['-y', file], { reject: false, stdin: 'ignore', env: toolEnvironment(), extendEnv: false });
      if (result.code === 'ENOENT') throw ApplicationFailure.nonRetryable('age-keygen was not found on the worker; install age (Debian: apt-get install age)', FailureType.ToolMissing);
      if (result.failed) {
        throw ApplicationFailure.nonRetryable(
          `AGE_IDENTITY_FILE ${file} is not a readable age identity file (${ageError(String(result.stderr))}); point it at the file age-keygen wrote`,
          FailureType.InvalidInput,
        );
      }
      return String(result.stdout).split('\n').map((l) => l.trim()).filter(Boolean);
    })();
    identityKeys.set(file, keys);
    keys.catch(() => identityKeys.delete(file));
  }
  return keys;
}
