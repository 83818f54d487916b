/** Keys are relative, '/'-separated paths with no `.`/`..` segments: on no store can one name anything outside it. */
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/errors.js';
import { quoteInput } from '../../common/input-fields.js';

export function checkKey(key: string): string {
  const segments = key.split('/');
  const bad =
    key === '' ||
    key.startsWith('/') ||
    /[\\\u0000-\u001f\u007f]/.test(key) ||
    segments.some((s) => s === '' || s === '.' || s === '..');
  if (bad) {
    throw ApplicationFailure.nonRetryable(`${quoteInput(key)} is not a key inside the store (no leading "/", no "." or ".." parts)`, FailureType.InvalidInput);
  }
  return key;
}
