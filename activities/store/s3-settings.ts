/**
 * What the S3 driver needs to reach one bucket and prefix, in one small object. The caller passes
 * what it parsed elsewhere; anything it leaves out comes from the standard AWS_* environment.
 *
 * The SDK reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (and profiles, web
 * identity, instance roles) itself, so credentials are left to it unless given. It reads AWS_REGION
 * but not AWS_DEFAULT_REGION (the AWS CLI's name), and with no region at all it asks the EC2
 * metadata service and then fails: both region names are read here, with us-east-1 last, which
 * every S3-compatible server accepts. It would read AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL too,
 * but the driver reads them itself so that failures can name the endpoint and path-style
 * addressing can follow a custom endpoint.
 */
import { InputError } from '../../common/errors.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3StoreOptions {
  /** A custom endpoint (any S3-compatible server); AWS's own when absent. */
  endpoint?: string;
  region?: string;
  /** `http://host/bucket/key` rather than `http://bucket.host/key`; default: on with a custom endpoint. */
  forcePathStyle?: boolean;
  credentials?: S3Credentials;
  /** A socket that stays silent this long fails the request (then the SDK retries it); default 30 s. */
  idleTimeoutMs?: number;
  /**
   * A read or delete (list, head, get, delete) not answered this long fails (then the SDK retries
   * it): a store that stops answering is named in half a minute, not in three idle timeouts.
   * Default 10 s, and never more than the idle timeout.
   */
  answerTimeoutMs?: number;
}

export interface S3Settings {
  /** `s3://bucket/prefix`: safe to log and show. */
  url: string;
  bucket: string;
  /** '' or a prefix ending in '/'. */
  prefix: string;
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
  credentials: S3Credentials | undefined;
  idleTimeoutMs: number;
  answerTimeoutMs: number;
}

type Env = Record<string, string | undefined>;

export function s3Settings(url: string, options: S3StoreOptions = {}, env: Env = process.env): S3Settings {
  const { bucket, prefix } = parseS3Url(url);
  const endpoint = options.endpoint ?? (env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined);
  if (endpoint !== undefined && !/^https?:\/\/[^/?#]+/.test(endpoint)) {
    throw new InputError('the S3 endpoint must be an http:// or https:// URL; check AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3)');
  }
  return {
    url: `s3://${bucket}${prefix ? `/${prefix.slice(0, -1)}` : ''}`,
    bucket,
    prefix,
    endpoint,
    region: options.region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1'),
    forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
    credentials: options.credentials,
    idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
    answerTimeoutMs: Math.min(options.answerTimeoutMs ?? 10_000, options.idleTimeoutMs ?? 30_000),
  };
}

/** `s3://bucket` or `s3://bucket/some/prefix`; anything else (credentials in it, a query) is refused. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!match) {
    // The URL is not echoed: a mistyped one may carry a secret.
    throw new InputError('an S3 store must be written s3://<bucket>[/<prefix>] (bucket: 3-63 lowercase letters, digits, dots, hyphens)');
  }
  const segments = (match[2] ?? '').split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..' || /[?#\\]/.test(s))) {
    throw new InputError('an S3 store prefix must not contain ".", ".." segments, "?", "#" or "\\"');
  }
  return { bucket: match[1]!, prefix: segments.length ? `${segments.join('/')}/` : '' };
}

/** The endpoint as shown in messages: no user info, no query. */
export function endpointLabel(settings: S3Settings): string {
  if (!settings.endpoint) return `https://s3.${settings.region}.amazonaws.com`;
  try {
    const u = new URL(settings.endpoint);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(an endpoint that is not a URL)';
  }
}
