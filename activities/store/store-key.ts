/**
 * Keys are relative, '/'-separated paths with no empty, '.' or '..' segment, no backslash and no
 * control character: a key can never name something outside its store, on a filesystem or in a bucket.
 */
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/errors.js';
import { quoteInput } from '../../common/input-fields.js';

export function assertStoreKey(key: string): void {
  const segments = key.split('/');
  if (key === '' || segments.some((s) => s === '' || s === '.' || s === '..') || /[\\\u0000-\u001f\u007f]/.test(key)) {
    throw ApplicationFailure.nonRetryable(`${quoteInput(key)} is not a key inside the store (relative, '/'-separated, no empty, "." or ".." parts)`, FailureType.InvalidInput);
  }
}

/** The key itself, once checked. */
export function checkKey(key: string): string {
  assertStoreKey(key);
  return key;
}

/** A listing prefix: '' (everything) or a key prefix with the same rules, possibly ending in '/'. */
export function assertStorePrefix(prefix: string): void {
  if (prefix !== '') assertStoreKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}
