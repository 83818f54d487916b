/**
 * Keys are relative, '/'-separated paths with no empty, '.' or '..' segment: a key can never name
 * something outside its store, on a filesystem or in a bucket.
 */
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/errors.js';

export function assertStoreKey(key: string): void {
  const segments = key.split('/');
  if (key === '' || segments.some((s) => s === '' || s === '.' || s === '..') || /[\0\\]/.test(key)) {
    throw ApplicationFailure.nonRetryable(`"${key.slice(0, 200)}" is not a store key (relative, '/'-separated, no empty, "." or ".." segments)`, FailureType.InvalidInput);
  }
}

/** A listing prefix: '' (everything) or a key prefix with the same rules, possibly ending in '/'. */
export function assertStorePrefix(prefix: string): void {
  if (prefix !== '') assertStoreKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}
