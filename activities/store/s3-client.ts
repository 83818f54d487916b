/**
 * The SDK client of one S3 store: timeouts so that a server that stops answering fails a request
 * instead of hanging an activity for ever, and pooled connections.
 */
import http from 'node:http';
import https from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { S3Settings } from './s3-settings.js';

/**
 * Options for a request that reads or deletes (list, head, get, delete, abort): it must be answered
 * within the settings' answer timeout. Writes are not given one: a slow answer to a manifest put
 * would fail a backup whose dump was good, and one to CreateMultipartUpload would leave an upload
 * whose id nobody knows.
 */
export function answered(settings: S3Settings, signal?: AbortSignal): { requestTimeout: number; abortSignal?: AbortSignal } {
  return { requestTimeout: settings.answerTimeoutMs, ...(signal ? { abortSignal: signal } : {}) };
}

export function createS3Client(settings: S3Settings): S3Client {
  // The SDK's own default: a cluster backup's parallel uploads must not keep a listing waiting for a socket.
  const agentOptions = { keepAlive: true, maxSockets: 50 };
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    // undefined: the SDK's chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, profiles, roles)
    credentials: settings.credentials,
    // a bucket in another region than AWS_REGION still works on AWS (one extra request)
    followRegionRedirects: true,
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: Math.min(10_000, settings.idleTimeoutMs),
      // An idle timeout, not a whole-request one: a multi-GB download may take long, a silent socket may not.
      socketTimeout: settings.idleTimeoutMs,
      // Per request (answered()): the time until the response starts (a socket free, the request
      // sent, the headers back), not the body after it. Only the requests that ask for it get one.
      throwOnRequestTimeout: true,
      httpAgent: new http.Agent(agentOptions),
      httpsAgent: new https.Agent(agentOptions),
    }),
  });
}
