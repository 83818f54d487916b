/**
 * The SDK client of one S3 store: timeouts so that a server that stops answering fails a request
 * instead of hanging an activity for ever, pooled connections, and a way for an upload to cut its
 * own requests short when it is aborted.
 *
 * lib-storage's Upload sends its UploadPart requests without an AbortSignal, so aborting an
 * upload would otherwise wait for every part in flight (for ever, against a stopped server). An
 * upload runs inside an `uploadScope`; the request handler gives the scope's signal to the
 * requests that carry data (PUT: PutObject, UploadPart). Create and Complete run to their end so
 * that a multipart upload is never left without its id being known; the Abort that cleans up after
 * a failure gets a deadline of its own (a stalled server must not hold a cancelled activity for
 * three more timeouts: the sweep removes what it leaves). The scope hears of every request that
 * finally failed, so the upload stops reading its source at once.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import https from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { S3Settings } from './s3-settings.js';

export interface UploadScope {
  /** Aborts the scope's PUT requests in flight. */
  signal: AbortSignal;
  /** Once the upload has failed, bounds its clean-up requests (AbortMultipartUpload) too. */
  cleanup?: AbortSignal;
  /** Called with the error of every request that failed after the SDK's own retries. */
  failed(err: unknown): void;
}

const uploadScope = new AsyncLocalStorage<UploadScope>();

export function inUploadScope<T>(scope: UploadScope, fn: () => Promise<T>): Promise<T> {
  return uploadScope.run(scope, fn);
}

/** Cleanup after an upload (abort, delete) must not inherit the upload's aborted signal. */
export function outsideUploadScope<T>(fn: () => Promise<T>): Promise<T> {
  return uploadScope.exit(fn);
}

class UploadScopedHandler extends NodeHttpHandler {
  override handle(...[request, options = {}]: Parameters<NodeHttpHandler['handle']>): ReturnType<NodeHttpHandler['handle']> {
    const scope = uploadScope.getStore();
    const signal = request.method === 'PUT' ? scope?.signal : scope?.cleanup;
    if (signal) {
      const own = options.abortSignal as AbortSignal | undefined;
      options = { ...options, abortSignal: own ? AbortSignal.any([own, signal]) : signal };
    }
    return super.handle(request, options);
  }
}

export function createS3Client(settings: S3Settings): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: 16 };
  const client = new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    // undefined: the SDK's chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, profiles, roles)
    credentials: settings.credentials,
    // a bucket in another region than AWS_REGION still works on AWS (one extra request)
    followRegionRedirects: true,
    maxAttempts: 3,
    requestHandler: new UploadScopedHandler({
      connectionTimeout: Math.min(10_000, settings.idleTimeoutMs),
      // An idle timeout, not a whole-request one: a multi-GB download may take long, a silent socket may not.
      socketTimeout: settings.idleTimeoutMs,
      httpAgent: new http.Agent(agentOptions),
      httpsAgent: new https.Agent(agentOptions),
    }),
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        uploadScope.getStore()?.failed(err);
        throw err;
      }
    },
    { step: 'initialize', name: 'pgkeeperUploadScopeFailure' },
  );
  return client;
}
