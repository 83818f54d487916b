/** Placeholder until the S3 driver lands. */
import type { StoreSpec } from '../../common/store-url.js';
import type { BackupStore } from './store.js';

export function openS3Store(spec: Extract<StoreSpec, { kind: 's3' }>): BackupStore {
  throw new Error(`S3 store ${spec.url} is not available yet`);
}
