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
import { parseManifest, type BackupManifest, type CarriedProperties, type DatabaseProperties, type SecretProperties } from '../common/manifest.js';
import type { ResolvedBackup } from '../common/types.js';
import type { BackupStore } from './store/store.js';
import { toolEnvironment } from './stream/tool-env.js';

/**
 * What a resolved backup carries of its properties through history: no settings or comment, unless
 * there are none (the sealed part, encrypted, travels; the rest is read from the manifest).
 */
export function withoutSettings(properties: DatabaseProperties | null): { properties: CarriedProperties | null; settingsInManifest?: true } {
  if (!properties || (!properties.sealed && properties.settings.length === 0 && properties.roleSettings.length === 0 && properties.comment === null)) return { properties };
  const { settings: _settings, roleSettings: _roleSettings, comment: _comment, ...carried } = properties;
  return { properties: carried, ...(properties.sealed ? {} : { settingsInManifest: true as const }) };
}

/**
 * The properties a restore applies: the settings and comment read back from the manifest in
 * `stores[0]` (the store the archive was read from) when history did not carry them, opened when
 * sealed. Sealed settings that do not open there are read from the next store's manifest, as a
 * damaged archive is read from its copy.
 */
export async function propertiesToApply(backup: ResolvedBackup, stores: BackupStore[], identityFile: string | undefined): Promise<DatabaseProperties | null> {
  const failures: ApplicationFailure[] = [];
  for (const [i, store] of stores.entries()) {
    try {
      // The first store's were resolved (and carried, when sealed); a copy's manifest is read.
      const reread = backup.manifestKey !== null && backup.properties !== null && (backup.settingsInManifest === true || i > 0);
      const properties = reread ? { ...backup.properties!, ...(await settingsIn(store, backup.manifestKey!, backup.label)) } : backup.properties;
      return await openProperties(properties, identityFile, backup.label);
    } catch (err) {
      if (!(err instanceof ApplicationFailure && err.type === FailureType.BackupDamaged)) throw err; // a store not answering: retried
      failures.push(err);
    }
  }
  throw failures.length > 1 ? ApplicationFailure.nonRetryable(`${failures[0]!.message} (and in its copies)`, FailureType.BackupDamaged) : failures[0]!;
}

/** The settings, comment and sealed part of the manifest at `key` in `store`. */
async function settingsIn(store: BackupStore, key: string, label: string): Promise<SecretProperties & Pick<DatabaseProperties, 'sealed'>> {
  const text = await store.getText(key);
  const full = text === undefined ? undefined : (parseManifest(text, label) as BackupManifest).databaseProperties;
  if (!full) throw ApplicationFailure.retryable(`the manifest of ${label} in ${store.url} could not be read again for the database's settings; retried`, FailureType.StoreFailed);
  return { settings: full.settings, roleSettings: full.roleSettings, comment: full.comment, ...(full.sealed ? { sealed: full.sealed } : {}) };
}

export async function sealProperties(properties: DatabaseProperties, recipients: string[]): Promise<DatabaseProperties> {
  if (recipients.length === 0) return properties;
  const secret: SecretProperties = { settings: properties.settings, roleSettings: properties.roleSettings, comment: properties.comment };
  const sealed = await execa('age', ['--encrypt', '--armor', ...recipients.flatMap((r) => ['--recipient', r])], { input: JSON.stringify(secret), env: toolEnvironment(), extendEnv: false });
  return { ...properties, settings: [], roleSettings: [], comment: null, sealed: sealed.stdout };
}

/** `properties` with its sealed part opened (as they are when nothing is sealed). */
async function openProperties(properties: CarriedProperties | null, identityFile: string | undefined, label: string): Promise<DatabaseProperties | null> {
  if (!properties?.sealed) return properties && complete(properties);
  const { sealed, ...open } = properties;
  const opened = identityFile
    ? await execa('age', ['--decrypt', '--identity', identityFile], { input: sealed, reject: false, env: toolEnvironment(), extendEnv: false })
    : undefined;
  const secret = opened && !opened.failed ? parsed(opened.stdout) : undefined;
  if (!secret) {
    // Called once the archive was decrypted with the same identity: this is the manifest, not the key.
    const why = !opened ? 'AGE_IDENTITY_FILE is unset' : opened.failed ? String(opened.stderr).trim().split('\n')[0] : 'they are not what pgkeeper seals';
    throw ApplicationFailure.nonRetryable(
      `the sealed database settings in ${label}'s manifest cannot be opened (${why}); nothing was restored. The manifest may have been edited: restore this backup from a copy (--store), another backup, or this one by its archive's key`,
      FailureType.BackupDamaged,
    );
  }
  return { ...open, ...secret };
}

/** Carried properties whose settings travelled with them (none to keep out of history). */
function complete(properties: CarriedProperties): DatabaseProperties {
  const { settings, roleSettings, comment } = properties;
  if (settings === undefined || roleSettings === undefined || comment === undefined) throw new Error('the database settings were neither carried nor read from the manifest');
  return { ...properties, settings, roleSettings, comment };
}

function parsed(text: string): SecretProperties | undefined {
  try {
    const s = JSON.parse(text) as SecretProperties;
    return Array.isArray(s.settings) && Array.isArray(s.roleSettings) && (s.comment === null || typeof s.comment === 'string') ? { settings: s.settings, roleSettings: s.roleSettings, comment: s.comment } : undefined;
  } catch {
    return undefined;
  }
}
