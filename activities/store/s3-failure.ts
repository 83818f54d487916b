/**
 * Turns errors from the S3 SDK and the network into ApplicationFailures: one line that names what
 * to fix, and a type that says whether a retry can help. Only error codes, HTTP statuses, the
 * bucket, the key and the endpoint appear; never the server's own message (an AWS error body may
 * carry the access key id) and never a credential.
 */
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/errors.js';
import { endpointLabel, type S3Settings } from './s3-settings.js';

interface SdkError {
  name?: string;
  code?: string;
  errors?: { code?: string }[];
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidSecurity',
  // versitygw answers an unknown access key with 404 XAdminUserNotFound, not 403 InvalidAccessKeyId.
  'XAdminUserNotFound',
  // the SDK's own: no credentials anywhere in its provider chain
  'CredentialsProviderError',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/** 4xx answers that another try may not get: bytes garbled on their way, a request cut short, a conflict of the moment. */
const TRANSIENT_REFUSALS = new Set(['BadDigest', 'XAmzContentSHA256Mismatch', 'IncompleteBody', 'OperationAborted', 'InvalidDigest']);

const SERVICE_BUSY_CODES = new Set(['SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'Throttling', 'ThrottlingException']);

/** What the driver was doing, for the message: "reading app/x.dump". */
export interface S3Action {
  doing: string;
  key?: string;
}

export function s3Failure(settings: S3Settings, action: S3Action, err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = (err ?? {}) as SdkError;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const code = e.code ?? e.errors?.find((inner) => inner.code)?.code;
  const what = `${action.doing}${action.key !== undefined ? ` ${action.key}` : ''} in ${settings.url}`;
  const endpoint = endpointLabel(settings);
  const detail = status !== undefined ? `${name}, HTTP ${status}` : (code ?? name);

  // The SDK checks the bytes it receives against the checksum the server stored with the object
  // (pgkeeper writes with CRC32; a multipart object's composite checksum is not checked on a read):
  // the object rotted in the store, or the server holds a wrong checksum. The manifest's SHA-256
  // tells which before anything is recorded (damage-record.ts).
  const checksum = /^Checksum mismatch: expected "([^"]*)" but received "([^"]*)" in response header "([^"]*)"/.exec((err as Error | undefined)?.message ?? '');
  if (checksum) {
    const [, stored, computed, header] = checksum;
    return ApplicationFailure.nonRetryable(
      `${what}: the bytes ${endpoint} returned do not match the checksum stored with the object (${header} ${stored}, the bytes give ${computed}); the object is damaged in the store, or the checksum stored with it is wrong`,
      FailureType.ChecksumMismatch,
    );
  }
  if (name === 'NoSuchBucket') {
    return ApplicationFailure.nonRetryable(
      `bucket "${settings.bucket}" does not exist on ${endpoint} (${what}); create it, or fix the bucket in BACKUP_STORE / BACKUP_COPIES`,
      FailureType.StoreMissing,
    );
  }
  if (name === 'AuthorizationHeaderMalformed') {
    // Answered by a server in another region than the one requests are signed for.
    return ApplicationFailure.nonRetryable(
      `${endpoint} refused requests signed for region "${settings.region}" (${what}); set AWS_REGION to the bucket's region`,
      FailureType.StoreAccessDenied,
    );
  }
  if (CREDENTIAL_CODES.has(name) || status === 403) {
    return ApplicationFailure.nonRetryable(
      name === 'CredentialsProviderError'
        ? process.env.AWS_PROFILE
          ? // With AWS_PROFILE set, the SDK reads that profile only, not AWS_ACCESS_KEY_ID.
            `no S3 credentials found (${what}): AWS_PROFILE is set, so the SDK reads profile "${process.env.AWS_PROFILE}" of ~/.aws (${(err as Error).message.split('\n')[0]}) and not AWS_ACCESS_KEY_ID; unset AWS_PROFILE, or fix that profile`
          : `no S3 credentials found (${what}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the worker environment`
        : `${endpoint} refused the credentials (${detail}) while ${what}; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) and the key's permissions on bucket "${settings.bucket}"`,
      FailureType.StoreAccessDenied,
    );
  }
  if (name === 'NoSuchKey') {
    return ApplicationFailure.nonRetryable(`${action.key ?? 'the object'} does not exist in ${settings.url}`, FailureType.BackupNotFound);
  }
  if (
    name === 'TimeoutError' ||
    (code !== undefined && NETWORK_CODES.has(code)) ||
    SERVICE_BUSY_CODES.has(name) ||
    e.$fault === 'server' ||
    (status !== undefined && (status >= 500 || status === 429))
  ) {
    return ApplicationFailure.retryable(
      `S3 endpoint ${endpoint} unavailable (${detail}) while ${what}; ` +
        (settings.endpoint
          ? "check that it runs and is reachable, and the endpoint (the store URL's ?endpoint=, or AWS_ENDPOINT_URL_S3)"
          : 'check the network path to AWS S3 and AWS_REGION'),
      FailureType.StoreUnavailable,
    );
  }
  // The SDK's own words when it refused before sending (no status): a server's are not repeated.
  const said = status === undefined ? (err as Error | undefined)?.message?.split('\n')[0] : undefined;
  const full = said && said !== name ? `${detail}: ${said}` : detail;
  // Refused by the server (4xx, but for bytes garbled on the way or a conflict of the moment) or by
  // the SDK before anything was sent (no status, no network code: a region that is no host name):
  // asking again gets the same answer.
  const passing = TRANSIENT_REFUSALS.has(name) || status === 408 || status === 409 || /checksum|digest/i.test(name);
  if (!passing && ((status !== undefined && status >= 400 && status < 500) || (status === undefined && code === undefined && !/Abort/.test(name)))) {
    return ApplicationFailure.nonRetryable(`S3 refused ${what} on ${endpoint} (${full}); check the store URL, its endpoint and AWS_REGION`, FailureType.StoreFailed);
  }
  return ApplicationFailure.retryable(`S3 error ${full} while ${what} on ${endpoint}`, FailureType.StoreFailed);
}
