/**
 * dumpGlobals: roles, memberships and tablespaces (`pg_dumpall --globals-only`) into the primary
 * store's `.globals` folder, like a database backup: archive, `.sha256` sidecar, manifest last.
 * The script holds role password hashes: with ENCRYPT_RECIPIENTS it is age-encrypted like every archive.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { toolEnvironment } from './stream/tool-env.js';
import { backupKeys, GLOBALS_FOLDER } from '../common/backup-keys.js';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { filterChain } from '../common/filters.js';
import { countRoles, GLOBALS_COMPLETE_MARKER } from '../common/globals-script.js';
import type { GlobalsManifest } from '../common/manifest.js';
import { encryptionRecipients } from './encryption.js';
import { failure } from './failures.js';
import { pgToolVersion, runPgTool } from './postgres/pg-tools.js';
import { sidecarText } from './publish-backup.js';
import { copyStores, primaryStore } from './store/open-stores.js';
import { forwardTool } from './stream/filter-tools.js';
import { toolMissing } from './stream/tool-process.js';

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The script encrypted with age, in memory: a globals script is small. */
async function encrypt(script: Buffer, recipients: string[]): Promise<Buffer> {
  const tool = forwardTool({ filter: 'age', recipients });
  const result = await execa(tool.file, tool.args, { input: script, encoding: 'buffer', reject: false, env: toolEnvironment(), extendEnv: false });
  if (result.code === 'ENOENT') throw toolMissing('age');
  if (result.failed) throw tool.classify({ exitCode: result.exitCode, stderr: Buffer.from(result.stderr).toString().trim() });
  return Buffer.from(result.stdout);
}

export async function dumpGlobals(config: Config, req: { globalsId: string }): Promise<{ id: string; store: string; copies: string[]; sizeBytes: number; encrypted: boolean }> {
  const store = primaryStore(config);
  const startedAt = new Date().toISOString();
  const text = await runPgTool(config, 'pg_dumpall', ['--globals-only', '--no-password'], { purpose: 'dump roles and tablespaces' });
  if (!text.includes(GLOBALS_COMPLETE_MARKER)) {
    throw failure(config, FailureType.PgToolFailed, 'pg_dumpall --globals-only produced an incomplete script; the globals backup was not written');
  }
  const recipients = await encryptionRecipients(config);
  const filters = filterChain({ kind: 'none' }, recipients);
  const keys = backupKeys(GLOBALS_FOLDER, req.globalsId, filters);
  const script = Buffer.from(text);
  const stored = recipients.length ? await encrypt(script, recipients) : script;
  const name = keys.archive.slice(GLOBALS_FOLDER.length + 1);
  const file = { name, sizeBytes: stored.length, sha256: sha256(stored) };
  await store.put(keys.archive, stored);
  if ((await store.stat(keys.archive))?.sizeBytes !== stored.length) {
    throw ApplicationFailure.retryable(`${keys.archive} was not stored whole in ${store.url}`, FailureType.StoreUnavailable);
  }
  await store.put(keys.sidecar, sidecarText(file.sha256, name));
  const manifest: GlobalsManifest = {
    manifestVersion: 2,
    kind: 'globals',
    id: req.globalsId,
    filters,
    files: [file],
    plaintext: recipients.length ? { sizeBytes: script.length, sha256: sha256(script) } : null,
    pgDumpallVersion: await pgToolVersion(config, 'pg_dumpall'),
    startedAt,
    finishedAt: new Date().toISOString(),
    roles: countRoles(text),
  };
  await store.put(keys.manifest, JSON.stringify(manifest, null, 2) + '\n');
  return { id: req.globalsId, store: store.url, copies: copyStores(config).map((s) => s.url), sizeBytes: stored.length, encrypted: recipients.length > 0 };
}
