/**
 * The worker's age keys. Workers that back up hold recipients (public keys) only; the identity
 * (private key) is on workers that restore, as a file handed to `age -i`. This module reads the
 * recipients and derives the identity's public keys (`age-keygen -y`), to say before anything is
 * created whether a backup can be decrypted here. The identity's contents never leave the file.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { toolEnvironment } from './stream/tool-env.js';
import { identityMissing } from './stream/filter-tools.js';
import { AGE_RECIPIENT, privateKeyAsRecipient, privateKeyIn, recipientKey, type Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { isEncrypted, recipientsOf, type FilterStep } from '../common/filters.js';

/** The recipients every new backup is encrypted to: ENCRYPT_RECIPIENTS' keys, or the keys in its file. */
export async function encryptionRecipients(config: Config): Promise<string[]> {
  const setting = config.encryption.recipients;
  if (!setting) return [];
  if ('keys' in setting) return setting.keys;
  let text: string;
  try {
    text = await fs.readFile(setting.file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A key mistyped at its start ("agel…") is taken for a file name: say what it was meant to be.
    const name = path.basename(setting.file);
    if (code === 'ENOENT' && /^age/i.test(name) && name.length >= 50) {
      throw ApplicationFailure.nonRetryable(`ENCRYPT_RECIPIENTS: "${name.slice(0, 20)}…" is neither an age public key ("age1" and 58 characters, as age-keygen prints) nor a file that exists`, FailureType.InvalidInput);
    }
    throw ApplicationFailure.nonRetryable(`ENCRYPT_RECIPIENTS: cannot read ${setting.file} (${code ?? String(err)}); give age public keys or a readable file of them`, FailureType.InvalidInput);
  }
  const keys = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map(recipientKey);
  // Not in comment lines, which may say where a private key is kept; age-keygen writes the key on a line of its own.
  if (privateKeyIn(keys.join('\n'))) throw ApplicationFailure.nonRetryable(`ENCRYPT_RECIPIENTS: ${privateKeyAsRecipient(setting.file)}`, FailureType.InvalidInput);
  const bad = keys.find((k) => !AGE_RECIPIENT.test(k));
  if (bad !== undefined || keys.length === 0) {
    const found = bad === undefined ? '; it lists none' : /^age1\S+\s+#/.test(bad) ? '; a comment goes on a line of its own, starting with #' : `; found "${bad.slice(0, 20)}…"`;
    throw ApplicationFailure.nonRetryable(`ENCRYPT_RECIPIENTS: ${setting.file} must list age public keys (age1…), one per line${found}`, FailureType.InvalidInput);
  }
  return keys;
}

/**
 * Why age refuses `recipients`, or undefined: a key of the right shape may still be mistyped (its
 * bech32 checksum wrong), which only age tells, by encrypting nothing to it. For the worker's start,
 * so such a key is one line then, not a failed backup at night.
 */
export async function recipientsRefused(recipients: string[]): Promise<string | undefined> {
  if (recipients.length === 0) return undefined;
  const result = await execa('age', ['--encrypt', ...recipients.flatMap((r) => ['--recipient', r])], { reject: false, input: '', stdout: 'ignore', env: toolEnvironment(), extendEnv: false });
  if (!result.failed || result.code === 'ENOENT') return undefined; // a missing age is said by the tool check
  return `ENCRYPT_RECIPIENTS: age refuses the keys (${ageError(String(result.stderr))}); check each one against \`age-keygen -y <identity file>\`, which prints the right public key`;
}

/** age's own first error line, without its program prefix; not its closing "report unexpected errors" line. */
function ageError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.replace(/^age(-keygen)?: /, '').trim()).filter(Boolean);
  return (lines.find((l) => l.startsWith('error:')) ?? lines[0] ?? 'no message').replace(/^error: /, '');
}

/** What an identity file age-keygen cannot read is, from its first line (nothing of it is said). */
async function identityKind(file: string): Promise<'encrypted' | 'ssh' | 'other'> {
  const head = await fs.open(file).then(
    async (h) => {
      try {
        const { buffer, bytesRead } = await h.read(Buffer.alloc(64), 0, 64, 0);
        return buffer.subarray(0, bytesRead).toString('latin1');
      } finally {
        await h.close();
      }
    },
  ).catch(() => '');
  if (head.startsWith('age-encryption.org/') || head.startsWith('-----BEGIN AGE ENCRYPTED FILE-----')) return 'encrypted';
  return /^-----BEGIN (OPENSSH|RSA) PRIVATE KEY-----|^ssh-/.test(head) ? 'ssh' : 'other';
}

/**
 * Derived keys by file and version (inode, size, mtime, ctime): a key file replaced, removed or
 * garbled after the worker started is read again. The ctime too: `cp -p` of another key of the
 * same length into the file keeps its inode, size and mtime.
 */
const identityKeys = new Map<string, Promise<string[]>>();

/** The public keys of the identities in `file`, AGE_IDENTITY_FILE ([] when unset). */
export async function identityRecipients(file: string | undefined): Promise<string[]> {
  if (!file) return [];
  const version = await fs.stat(file).catch((err: NodeJS.ErrnoException) => {
    throw ApplicationFailure.nonRetryable(`AGE_IDENTITY_FILE ${file} cannot be read (${err.code ?? String(err)}); point it at the file age-keygen wrote, readable by the worker's user`, FailureType.InvalidInput);
  });
  if (!version.isFile()) throw ApplicationFailure.nonRetryable(`AGE_IDENTITY_FILE ${file} is ${version.isDirectory() ? 'a directory' : 'not a regular file'}; point it at the file age-keygen wrote`, FailureType.InvalidInput);
  const cacheKey = `${file}\0${version.ino}:${version.size}:${version.mtimeMs}:${version.ctimeMs}`;
  let keys = identityKeys.get(cacheKey);
  if (!keys) {
    keys = (async () => {
      const result = await execa('age-keygen', ['-y', file], { reject: false, stdin: 'ignore', env: toolEnvironment(), extendEnv: false });
      if (result.code === 'ENOENT') throw ApplicationFailure.nonRetryable('age-keygen was not found on the worker; install age (Debian: apt-get install age)', FailureType.ToolMissing);
      if (result.failed) {
        const kind = await identityKind(file);
        throw ApplicationFailure.nonRetryable(
          kind === 'encrypted'
            ? `AGE_IDENTITY_FILE ${file} is itself an age-encrypted file (a passphrase-protected identity, say), and nobody can type its passphrase for the worker; decrypt it once (age -d -o <file> ${file}) into a file only the worker's user can read`
            : kind === 'ssh'
              ? `AGE_IDENTITY_FILE ${file} is an ssh key; pgkeeper takes age X25519 identities (AGE-SECRET-KEY-…, as age-keygen writes)`
              : `AGE_IDENTITY_FILE ${file} is not a readable age identity file (${ageError(String(result.stderr))}); point it at the file age-keygen wrote`,
          FailureType.InvalidInput,
        );
      }
      return String(result.stdout).split('\n').map((l) => l.trim()).filter(Boolean);
    })();
    for (const older of identityKeys.keys()) if (older.startsWith(`${file}\0`)) identityKeys.delete(older);
    identityKeys.set(cacheKey, keys);
    keys.catch(() => identityKeys.delete(cacheKey));
  }
  return keys;
}

/**
 * Said before anything is created or read: an encrypted backup needs AGE_IDENTITY_FILE to hold a
 * key among its recipients (any key, when none are recorded: an archive with no manifest). True
 * when the manifest lists one of the worker's keys, so age then matching none is damage to the
 * archive's header, worth its copy, not a key to fix (filter-tools.ts).
 */
export async function requireIdentityFor(filters: FilterStep[], identityFile: string | undefined, label: string): Promise<boolean> {
  if (!isEncrypted(filters)) return false;
  const recipients = recipientsOf(filters);
  const mine = await identityRecipients(identityFile);
  if (mine.length === 0 || (recipients.length > 0 && !recipients.some((r) => mine.includes(r)))) throw identityMissing(recipients, identityFile, label);
  return recipients.length > 0;
}
