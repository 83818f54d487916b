/**
 * A database's settings (ALTER DATABASE / ALTER ROLE … IN DATABASE … SET) and its comment may hold
 * a secret: PostgREST keeps its JWT key there, others an API key. The manifest lies in the clear
 * beside the archive, so with encryption on these are sealed: encrypted with age to the backup's
 * recipients, as armored text in the manifest, and opened only where restores run
 * (AGE_IDENTITY_FILE). By hand: `jq -r .databaseProperties.sealed <manifest> | age -d -i key.txt`.
 * Unsealed, they stay out of workflow history: a restore reads them from the manifest itself.
 */
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { FailureType } from '../common/errors.js';
import { parseManifest, type BackupManifest, type DatabaseProperties } from '../common/manifest.js';
import type { ResolvedBackup } from '../common/types.js';
import type { BackupStore } from './store/store.js';
import { toolEnvironment } from './stream/tool-env.js';

type Secret = Pick<DatabaseProperties, 'settings' | 'roleSettings' | 'comment'>;

/** What a resolved backup carries of its properties through history: no unsealed settings or comment. */
export function withoutSettings(properties: DatabaseProperties | null): { properties: DatabaseProperties | null; settingsInManifest?: true } {
  if (!properties || properties.sealed || (properties.settings.length === 0 && properties.roleSettings.length === 0 && properties.comment === null)) return { properties };
  return { properties: { ...properties, settings: [], roleSettings: [], comment: null }, settingsInManifest: true };
}

/**
 * The properties a restore applies: the settings and comment read back from the manifest in
 * `store` when history did not carry them, opened when sealed.
 */
export async function propertiesToApply(backup: ResolvedBackup, store: BackupStore, identityFile: string | undefined): Promise<DatabaseProperties | null> {
  let properties = backup.properties;
  if (properties && backup.settingsInManifest && backup.manifestKey) {
    const text = await store.getText(backup.manifestKey);
    const manifest = text === undefined ? undefined : (parseManifest(text, backup.label) as BackupManifest);
    const full = manifest?.databaseProperties;
    if (!full) throw ApplicationFailure.retryable(`the manifest of ${backup.label} in ${store.url} could not be read again for the database's settings; retried`, FailureType.StoreFailed);
    properties = { ...properties, settings: full.settings, roleSettings: full.roleSettings, comment: full.comment };
  }
  return openProperties(properties, identityFile, backup.label);
}

export async function sealProperties(properties: DatabaseProperties, recipients: string[]): Promise<DatabaseProperties> {
  if (recipients.length === 0) return properties;
  const secret: Secret = { settings: properties.settings, roleSettings: properties.roleSettings, comment: properties.comment };
  const sealed = await execa('age', ['--encrypt', '--armor', ...recipients.flatMap((r) => ['--recipient', r])], { input: JSON.stringify(secret), env: toolEnvironment(), extendEnv: false });
  return { ...properties, settings: [], roleSettings: [], comment: null, sealed: sealed.stdout };
}

/** `properties` with its sealed part opened (as they are when nothing is sealed). */
async function openProperties(properties: DatabaseProperties | null, identityFile: string | undefined, label: string): Promise<DatabaseProperties | null> {
  if (!properties?.sealed) return properties;
  const { sealed, ...open } = properties;
  const opened = identityFile
    ? await execa('age', ['--decrypt', '--identity', identityFile], { input: sealed, reject: false, env: toolEnvironment(), extendEnv: false })
    : undefined;
  const secret = opened && !opened.failed ? parsed(opened.stdout) : undefined;
  if (!secret) {
    // Called once the archive was decrypted with the same identity: this is the manifest, not the key.
    const why = !opened ? 'AGE_IDENTITY_FILE is unset' : opened.failed ? String(opened.stderr).trim().split('\n')[0] : 'they are not what pgkeeper seals';
    throw ApplicationFailure.nonRetryable(
      `the sealed database settings in ${label}'s manifest cannot be opened (${why}); nothing was restored. The manifest may have been edited: restore another backup, or this one by its archive's key`,
      FailureType.BackupDamaged,
    );
  }
  return { ...open, ...secret };
}

function parsed(text: string): Secret | undefined {
  try {
    const s = JSON.parse(text) as Secret;
    return Array.isArray(s.settings) && Array.isArray(s.roleSettings) && (s.comment === null || typeof s.comment === 'string') ? { settings: s.settings, roleSettings: s.roleSettings, comment: s.comment } : undefined;
  } catch {
    return undefined;
  }
}
