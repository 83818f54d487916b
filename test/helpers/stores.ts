/**
 * The stores a test runs against: every backup, restore, retention, drill and cluster test runs
 * once with a local directory and once with a real S3-compatible server (versitygw), through the
 * same storage seam. Objects are inspected through the driver, whose own tests prove it against
 * the file system and the server.
 */
import { openStore } from '../../activities/store/open-stores.js';
import type { BackupStore } from '../../activities/store/store.js';
import type { Config } from '../../common/config.js';
import { testConfig } from './config.js';
import { startS3Server, type S3Server } from './s3-server.js';

export type StoreKind = 'file' | 's3';
export const STORE_KINDS: StoreKind[] = ['file', 's3'];

export interface StoreUnderTest {
  kind: StoreKind;
  config: Config;
  /** The primary store's driver. */
  store: BackupStore;
  /** Present for kind s3. */
  s3?: S3Server;
  stop(): Promise<void>;
}

/** The S3 driver reads the standard AWS_* variables, in the worker and in tests alike. */
function useCredentials(server: S3Server): void {
  process.env.AWS_ACCESS_KEY_ID = server.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = server.credentials.secretAccessKey;
  process.env.AWS_REGION = server.region;
}

/** A config whose primary store is of `kind` (plus `env`), and a driver to look inside it. */
export async function storeUnderTest(kind: StoreKind, env: Record<string, string> = {}): Promise<StoreUnderTest> {
  if (kind === 'file') {
    const config = testConfig(env);
    return { kind, config, store: openStore(config.stores.primary), stop: async () => undefined };
  }
  const s3 = await startS3Server();
  useCredentials(s3);
  const config = testConfig({
    BACKUP_STORE: `s3://${s3.bucket}/pgkeeper?endpoint=${s3.endpoint}`,
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    AWS_REGION: s3.region,
    ...env,
  });
  return { kind, config, store: openStore(config.stores.primary), s3, stop: () => s3.stop() };
}

/** Every key in the store under `prefix`, sorted. */
export async function keysUnder(store: BackupStore, prefix: string): Promise<string[]> {
  return (await store.list(prefix)).map((o) => o.key).sort();
}

/** An object's bytes. */
export async function readObject(store: BackupStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** One byte changed, the size kept: only a checksum can tell. */
export async function flipByte(store: BackupStore, key: string): Promise<void> {
  const bytes = await readObject(store, key);
  bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
  await store.put(key, bytes);
}
