/**
 * What an interrupted run may leave behind, looked for where it would be: unfinished writes in a
 * store (posix `.partial` files, S3 multipart uploads never completed, both invisible to `list`),
 * manifests that name an archive the store does not hold, staging databases.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { classifyKey } from '../../common/backup-keys.js';
import type { Config } from '../../common/config.js';
import { listDatabases } from './postgres.js';
import type { StoreUnderTest } from './stores.js';

/** Unfinished writes under `folder/` of the test's primary store: `.partial` files, or multipart uploads. */
export async function unfinishedWrites(t: StoreUnderTest, folder: string): Promise<string[]> {
  if (t.kind === 'file') {
    const primary = t.config.stores.primary;
    const dir = path.join(primary.kind === 'file' ? primary.path : '', folder);
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    return names.filter((n) => n.endsWith('.partial')).map((n) => `${folder}/${n}`);
  }
  const primary = t.config.stores.primary;
  const prefix = primary.kind === 's3' && primary.prefix ? `${primary.prefix}/` : '';
  const { Uploads } = await t.s3!.client.send(new ListMultipartUploadsCommand({ Bucket: t.s3!.bucket, Prefix: `${prefix}${folder}/` }));
  return (Uploads ?? []).map((u) => u.Key!);
}

/**
 * Manifests in `folder/` that name a file the store does not hold (or holds with another size):
 * what must never be seen, at any moment, because a manifest is what makes a backup complete.
 */
export async function manifestsNamingMissingFiles(t: StoreUnderTest, folder: string): Promise<string[]> {
  const objects = await t.store.list(`${folder}/`);
  const sizes = new Map(objects.map((o) => [o.key, o.sizeBytes]));
  const wrong: string[] = [];
  for (const object of objects) {
    if (classifyKey(object.key)?.part !== 'manifest') continue;
    const text = await t.store.getText(object.key);
    if (text === undefined) continue; // deleted since the listing
    const manifest = JSON.parse(text) as { files: { name: string; sizeBytes: number }[] };
    for (const file of manifest.files) {
      const size = sizes.get(`${folder}/${file.name}`) ?? (await t.store.stat(`${folder}/${file.name}`))?.sizeBytes;
      if (size !== file.sizeBytes) wrong.push(`${object.key} names ${file.name} (${file.sizeBytes} bytes), the store has ${size ?? 'nothing'}`);
    }
  }
  return wrong;
}

/** Staging databases of restores into `target` (named `<target>_restoring_<id>`). */
export async function stagingDatabases(config: Config, target: string): Promise<string[]> {
  return (await listDatabases(config)).filter((n) => n.startsWith(`${target}_restoring_`));
}

/**
 * Samples `probe` every `intervalMs` until `stop()` is called, collecting what it reports: for
 * assertions that something held at every moment while a run went on ("never a manifest naming a
 * missing archive", "the live database never missing"). Errors of the probe are recorded too.
 */
export function sampleWhile(probe: () => Promise<string[]>, intervalMs = 250): { stop(): Promise<{ samples: number; problems: string[] }> } {
  let running = true;
  let samples = 0;
  const problems: string[] = [];
  const loop = (async () => {
    while (running) {
      try {
        problems.push(...(await probe()));
        samples += 1;
      } catch (err) {
        problems.push(`probe failed: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { samples, problems };
    },
  };
}
