/**
 * Where backups are kept, as configured: `file:///var/backups/pgkeeper` (or a plain path) and
 * `s3://bucket/prefix`, optionally with `?endpoint=http://host:port&region=eu-west-1` for a store
 * whose server differs from AWS_ENDPOINT_URL. Credentials never appear here: they come from the
 * standard AWS_* environment, so a store's URL is safe to log, show and put in workflow history.
 */
import { ConfigError } from './config-error.js';

export type StoreSpec =
  /** `variable`: the setting that names it (BACKUP_STORE, BACKUP_DIR, BACKUP_COPIES), for messages that say what to change. */
  /** `madeByPgkeeper`: the default store (BACKUP_DIR unset), whose directory the worker makes. */
  | { kind: 'file'; url: string; path: string; variable: string; madeByPgkeeper?: boolean }
  | { kind: 's3'; url: string; bucket: string; prefix: string; endpoint: string | undefined; region: string | undefined };

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** A NUL or a newline in a key or a path is a mistake (an S3 server answers it with a 500): refused, named. */
function refuseControlCharacters(text: string, variable: string, value: string): string {
  const control = /[\u0000-\u001f\u007f]/.exec(text);
  if (control) {
    throw new ConfigError(`invalid configuration: ${variable}: ${JSON.stringify(shown(value))} holds a control character (U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}); remove it`);
  }
  return text;
}

/** A store URL as a message shows it: whatever stands before an @ after a // hidden, for it may be a password. */
function shown(value: string): string {
  return value.replace(/\/\/[^@]*@/g, '//…@');
}

/** A URL's percent-encoded part, decoded; refused when a % is not followed by two hex digits. */
function decoded(part: string, variable: string, value: string): string {
  try {
    return refuseControlCharacters(decodeURIComponent(part), variable, value);
  } catch (err) {
    if (!(err instanceof URIError)) throw err;
    throw new ConfigError(`invalid configuration: ${variable}: ${JSON.stringify(shown(value))} has a % not followed by two hex digits; write %25 for a % sign`);
  }
}

export function parseStoreUrl(text: string, variable: string, resolvePath: (p: string) => string): StoreSpec {
  const value = refuseControlCharacters(text.trim(), variable, text.trim());
  if (value.startsWith('s3://')) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError(`invalid configuration: ${variable}: ${JSON.stringify(shown(value))} is not a URL; write s3://bucket/prefix`);
    }
    if (url.username || url.password) {
      throw new ConfigError(`invalid configuration: ${variable}: put S3 credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not in the store URL`);
    }
    // Before any message that shows the URL: it would show the secret.
    if (url.searchParams.getAll('endpoint').some((e) => e.includes('@'))) {
      throw new ConfigError(`invalid configuration: ${variable}: put S3 credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not in the endpoint`);
    }
    const bucket = url.hostname;
    if (url.port) {
      // s3://minio.local:9000/backups: a server written where the bucket goes (as MinIO's own URLs have it).
      const [meant = 'bucket', ...rest] = decoded(url.pathname, variable, value).split('/').filter(Boolean);
      throw new ConfigError(
        `invalid configuration: ${variable}: ${JSON.stringify(shown(value))} gives a port (:${url.port}), but in s3://bucket/prefix the part after s3:// is the bucket; ` +
          `the S3 server goes in ?endpoint=, e.g. s3://${meant}${rest.length ? `/${rest.join('/')}` : ''}?endpoint=http://${bucket}:${url.port}`,
      );
    }
    if (url.hash) throw new ConfigError(`invalid configuration: ${variable}: ${JSON.stringify(shown(value))}: a store URL takes no #fragment; write s3://bucket/prefix`);
    if (!BUCKET.test(bucket)) throw new ConfigError(`invalid configuration: ${variable}: "${bucket}" is not a valid S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)`);
    const prefix = decoded(url.pathname, variable, value).replace(/^\/+|\/+$/g, '');
    const unknown = [...url.searchParams.keys()].filter((k) => k !== 'endpoint' && k !== 'region');
    if (unknown.length > 0) throw new ConfigError(`invalid configuration: ${variable}: unknown option "${unknown[0]}" in the store URL; known: endpoint, region`);
    decoded(url.search, variable, value); // a stray % or a control character in ?endpoint= or ?region= too
    const twice = ['endpoint', 'region'].find((k) => url.searchParams.getAll(k).length > 1);
    if (twice) throw new ConfigError(`invalid configuration: ${variable}: "${twice}" is given more than once in the store URL; give it once`);
    const empty = ['endpoint', 'region'].find((k) => url.searchParams.get(k) === '');
    if (empty) throw new ConfigError(`invalid configuration: ${variable}: ?${empty}= is empty; give a value or leave it out`);
    const endpoint = url.searchParams.get('endpoint') ?? undefined;
    if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) {
      throw new ConfigError(`invalid configuration: ${variable}: endpoint must be an http(s) URL such as http://127.0.0.1:7070`);
    }
    // The endpoint's own ?query or #fragment would be the SDK's to drop or misread: a server is scheme, host, port (and a path).
    if (endpoint !== undefined && /[?#]/.test(endpoint)) {
      throw new ConfigError(`invalid configuration: ${variable}: endpoint ${JSON.stringify(endpoint)} takes no ?query or #fragment; write the server as http(s)://host:port`);
    }
    return { kind: 's3', url: `s3://${bucket}${prefix ? `/${prefix}` : ''}`, bucket, prefix, endpoint, region: url.searchParams.get('region') ?? undefined };
  }
  // s3:/bucket, s3:bucket, file:/dir: a URL with its slashes missing, which as a path would be a
  // directory of that name here, the "off-site" store on the local disk.
  if (/^[a-z][a-z0-9+.-]+:(?!\/\/)/i.test(value)) {
    throw new ConfigError(`invalid configuration: ${variable}: ${JSON.stringify(shown(value))} is neither a store URL nor a path; write s3://bucket/prefix, file:///absolute/path or a plain path`);
  }
  if (value.startsWith('~')) {
    throw new ConfigError(`invalid configuration: ${variable}: ${JSON.stringify(shown(value))}: ~ is not expanded here; write the full path (${value.replace(/^~(?=\/|$)/, '/home/<user>')})`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !value.startsWith('file://')) {
    throw new ConfigError(`invalid configuration: ${variable}: unsupported store ${JSON.stringify(value.split('://')[0] + '://')}; use file:///path or s3://bucket/prefix`);
  }
  // file:///path, or file://localhost/path (RFC 8089: the same host).
  const raw = value.startsWith('file://') ? decoded(value.slice('file://'.length).replace(/^localhost(?=\/)/i, ''), variable, value) : refuseControlCharacters(value, variable, value);
  if (value.startsWith('file://') && /[?#]/.test(value)) {
    // A directory whose name holds ? or # is written as a plain path; in a URL they would be a query.
    throw new ConfigError(`invalid configuration: ${variable}: ${JSON.stringify(shown(value))}: a file:// store takes no ?query or #fragment (only s3:// stores take ?endpoint= and ?region=); write file:///absolute/path`);
  }
  if (value.startsWith('file://') && !raw.startsWith('/')) {
    // file://backups/x names a host "backups": not a directory here. A relative path is written without file://.
    throw new ConfigError(`invalid configuration: ${variable}: ${JSON.stringify(shown(value))} is not a file URL of a directory; write file:///absolute/path (three slashes), or a plain path`);
  }
  if (raw === '') throw new ConfigError(`invalid configuration: ${variable}: the store's directory is empty; write file:///var/backups/pgkeeper or a path`);
  const path = resolvePath(raw).replace(/\/+$/, '') || '/';
  return { kind: 'file', url: `file://${path}`, path, variable };
}

/** Where a store keeps its objects, as a path: two stores overlap when one's is, or holds, the other's. */
function place(store: StoreSpec): string {
  return store.kind === 'file' ? `file:${store.path === '/' ? '' : store.path}/` : `s3:${store.bucket}/${store.prefix ? `${store.prefix}/` : ''}`;
}

/**
 * Refuses two stores that are one, or one inside the other: a copy there is no copy (same disk,
 * same bucket and prefix), and a store holding another would list the other's folders as databases.
 * The endpoint does not tell S3 stores apart: listings and --store name a store by its URL.
 */
export function checkStoresApart(stores: StoreSpec[]): void {
  stores.forEach((a, i) =>
    stores.slice(i + 1).forEach((b) => {
      if (a.url === b.url) {
        throw new ConfigError(
          `invalid configuration: store ${a.url} is named twice in BACKUP_STORE/BACKUP_DIR and BACKUP_COPIES; each copy must go to another store` +
            (a.kind === 's3' ? ' (on another server too it needs its own bucket or prefix: listings and --store name a store by bucket and prefix)' : ''),
        );
      }
      const [outer, inner] = place(a).length <= place(b).length ? [a, b] : [b, a];
      if (place(inner) === place(outer)) {
        // Named apart, one place: a symbolic link (startup-checks.ts resolves them before this).
        throw new ConfigError(`invalid configuration: stores ${outer.url} and ${inner.url} are one directory (BACKUP_STORE/BACKUP_DIR and BACKUP_COPIES): a copy there is no copy; give each store a directory of its own, a copy on another disk`);
      }
      if (place(inner).startsWith(place(outer))) {
        throw new ConfigError(`invalid configuration: store ${inner.url} lies inside store ${outer.url} (BACKUP_STORE/BACKUP_DIR and BACKUP_COPIES); give each store a place of its own, neither inside the other`);
      }
    }),
  );
}

/**
 * The file store `scratch` lies in (or is), if any: restores write the archive there decrypted and
 * decompressed, which inside a store would put plaintext among encrypted backups (and copy it off-site).
 */
export function storeHoldingScratch(scratch: string, stores: readonly StoreSpec[]): StoreSpec | undefined {
  const own = place({ kind: 'file', url: `file://${scratch}`, path: scratch.replace(/\/+$/, '') || '/', variable: 'SCRATCH_DIR' });
  return stores.find((s) => s.kind === 'file' && own.startsWith(place(s)));
}
