/**
 * The S3 driver of the storage seam, for AWS S3 and any S3-compatible server (custom endpoint,
 * path-style addressing). Objects become visible only when complete: a stream is a multipart
 * upload, completed at its end or aborted; unfinished uploads left by a crash are removed by
 * sweepUnfinished. Every error leaves as an ApplicationFailure (see s3-failure.ts).
 */
import { randomUUID } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type ListMultipartUploadsCommandOutput,
  paginateListObjectsV2,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { BackupStore, PutOptions, StoredObject } from './store.js';
import { assertStoreKey, assertStorePrefix } from './store-key.js';
import { answered, createS3Client } from './s3-client.js';
import { s3Failure } from './s3-failure.js';
import { s3Settings, type S3Settings, type S3StoreOptions } from './s3-settings.js';
import { uploadStream } from './s3-upload.js';

export function openS3Store(url: string, options?: S3StoreOptions): S3Store {
  return new S3Store(s3Settings(url, options));
}

export class S3Store implements BackupStore {
  readonly kind = 's3';
  readonly url: string;
  private readonly client: S3Client;

  constructor(private readonly settings: S3Settings) {
    this.url = settings.url;
    this.client = createS3Client(settings);
  }

  async put(key: string, body: Readable | Buffer | string, options: PutOptions = {}): Promise<{ sizeBytes: number }> {
    assertStoreKey(key);
    if (typeof body !== 'string' && !Buffer.isBuffer(body)) {
      return { sizeBytes: await uploadStream(this.client, this.settings, key, body, options) };
    }
    // A small body in one PutObject: S3 makes it visible whole or not at all.
    options.signal?.throwIfAborted();
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    await this.send(
      { doing: 'writing', key },
      () => this.client.send(new PutObjectCommand({ Bucket: this.settings.bucket, Key: this.fullKey(key), Body: bytes }), { abortSignal: options.signal }),
      options.signal,
    );
    return { sizeBytes: bytes.length };
  }

  async get(key: string, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    assertStoreKey(key);
    const action = { doing: 'reading', key };
    const { Body } = await this.send(
      action,
      () => this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: this.fullKey(key) }), answered(this.settings, options.signal)),
      options.signal,
    );
    const source = Body as Readable;
    // Errors in the middle of the body (server gone, socket silent) come out as failures too.
    const out = new PassThrough({ highWaterMark: 1024 * 1024 });
    source.on('error', (err) => out.destroy(options.signal?.aborted ? err : s3Failure(this.settings, action, err)));
    out.on('close', () => source.destroy());
    const onAbort = (): void => void out.destroy(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    out.once('close', () => options.signal?.removeEventListener('abort', onAbort));
    source.pipe(out);
    return out;
  }

  async getText(key: string): Promise<string | undefined> {
    assertStoreKey(key);
    try {
      const { Body } = await this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: this.fullKey(key) }), answered(this.settings));
      return await Body!.transformToString('utf8');
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey') return undefined;
      throw s3Failure(this.settings, { doing: 'reading', key }, err);
    }
  }

  async stat(key: string): Promise<StoredObject | undefined> {
    assertStoreKey(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.fullKey(key) }), answered(this.settings));
      return { key, sizeBytes: head.ContentLength ?? 0, modifiedMs: head.LastModified?.getTime() ?? 0 };
    } catch (err) {
      // HEAD answers carry no body, so a missing object, a missing bucket and (on versitygw) an
      // unknown access key all read 404 NotFound: list() and check() tell those apart.
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
      throw s3Failure(this.settings, { doing: 'looking up', key }, err);
    }
  }

  async statAsListed(key: string): Promise<StoredObject | undefined> {
    return (await this.list(key)).find((o) => o.key === key);
  }

  async list(prefix: string): Promise<StoredObject[]> {
    assertStorePrefix(prefix);
    const objects: StoredObject[] = [];
    await this.send({ doing: 'listing', key: `${prefix}*` }, async () => {
      const pages = paginateListObjectsV2({ client: this.client }, { Bucket: this.settings.bucket, Prefix: this.fullKey(prefix) }, answered(this.settings));
      for await (const page of pages) {
        for (const o of page.Contents ?? []) {
          // Zero-byte "folder" objects that consoles create are not objects of a store.
          if (!o.Key || o.Key.endsWith('/')) continue;
          objects.push({ key: o.Key.slice(this.settings.prefix.length), sizeBytes: o.Size ?? 0, modifiedMs: o.LastModified?.getTime() ?? 0 });
        }
      }
    });
    return objects;
  }

  async listFolders(prefix: string): Promise<string[]> {
    assertStorePrefix(prefix);
    const below = this.fullKey(prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`);
    const folders: string[] = [];
    await this.send({ doing: 'listing', key: `${prefix}*/` }, async () => {
      const pages = paginateListObjectsV2({ client: this.client }, { Bucket: this.settings.bucket, Prefix: below, Delimiter: '/' }, answered(this.settings));
      for await (const page of pages) {
        for (const p of page.CommonPrefixes ?? []) if (p.Prefix) folders.push(p.Prefix.slice(below.length, -1));
      }
    });
    return folders;
  }

  async delete(key: string): Promise<void> {
    assertStoreKey(key);
    // S3 answers 204 for a key that does not exist: deleting twice is not an error.
    await this.send({ doing: 'deleting', key }, () => this.client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: this.fullKey(key) }), answered(this.settings)));
  }

  async sweepUnfinished(olderThanMs: number, prefix = '', { dryRun = false } = {}): Promise<string[]> {
    assertStorePrefix(prefix);
    const cutoff = Date.now() - olderThanMs;
    const swept: string[] = [];
    const action = { doing: 'sweeping unfinished uploads' };
    let page: ListMultipartUploadsCommandOutput | undefined;
    do {
      page = await this.send(action, () =>
        this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.settings.bucket, Prefix: this.fullKey(prefix), KeyMarker: page?.NextKeyMarker, UploadIdMarker: page?.NextUploadIdMarker }),
          answered(this.settings),
        ),
      );
      for (const upload of page.Uploads ?? []) {
        // An upload with no start date cannot be known to be stale: it is left alone.
        if (!upload.Key || !upload.UploadId || !upload.Initiated || upload.Initiated.getTime() > cutoff) continue;
        const key = upload.Key.slice(this.settings.prefix.length);
        if (!dryRun) await this.send({ doing: 'aborting the unfinished upload of', key }, async () => {
          try {
            await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.settings.bucket, Key: upload.Key, UploadId: upload.UploadId }), answered(this.settings));
          } catch (err) {
            if ((err as Error).name !== 'NoSuchUpload') throw err; // completed or aborted meanwhile
          }
        });
        swept.push(key);
      }
    } while (page.IsTruncated && (page.NextKeyMarker || page.NextUploadIdMarker));
    return swept;
  }

  async check(): Promise<void> {
    // A write, not a HEAD: HEAD cannot tell a missing bucket or refused credentials from "no object".
    const key = `.pgkeeper-check-${randomUUID()}`;
    await this.put(key, 'pgkeeper can write here\n');
    await this.delete(key);
  }

  /** Closes pooled connections; the store cannot be used afterwards. */
  close(): void {
    this.client.destroy();
  }

  private fullKey(key: string): string {
    return this.settings.prefix + key;
  }

  /** Runs one request; its errors leave as failures, an abort as the signal's reason. */
  private async send<T>(action: { doing: string; key?: string }, request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await request();
    } catch (err) {
      signal?.throwIfAborted();
      throw s3Failure(this.settings, action, err);
    }
  }
}
