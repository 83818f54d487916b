/**
 * What the worker proves before it takes work: stores it can write, keys it can read, tools it
 * needs. Each mistake is one plain line and exit code 2, before the worker connects to anything.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { testCluster } from './helpers/cluster.js';
import { tempDir } from './helpers/temp-dirs.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Starts the compiled worker with `env` and a Temporal address nothing answers: it must stop before connecting. */
async function startWorker(env: Record<string, string>, { cwd = ROOT, defaultStore = false, bindMount = undefined as [string, string] | undefined } = {}) {
  const cluster = testCluster();
  const worker = [process.execPath, path.join(ROOT, 'dist/worker/main.js')];
  // `bindMount`: the worker sees the first directory mounted again at the second, in a mount namespace of its own (nothing outside sees it).
  const [file, ...args] = bindMount ? ['unshare', '--mount', '--map-root-user', 'sh', '-c', 'mount --bind "$1" "$2" && shift 2 && exec "$@"', 'sh', ...bindMount, ...worker] : worker;
  return execa(file!, args, {
    cwd,
    reject: false,
    timeout: 60_000,
    extendEnv: false,
    env: {
      PATH: process.env.PATH!,
      HOME: process.env.HOME!,
      DB_HOST: cluster.host,
      DB_PORT: String(cluster.port),
      DB_USER: cluster.user,
      DB_PASSWORD: cluster.password,
      PG_BIN_DIR: cluster.binDir,
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      ...(env.BACKUP_STORE === undefined && !defaultStore ? { BACKUP_DIR: tempDir('startup') } : {}),
      ...env,
    },
  });
}

const refusal = async (env: Record<string, string>, message: RegExp, bindMount?: [string, string]) => {
  const run = await startWorker(env, { bindMount });
  assert.equal(run.exitCode, 2, `${run.stdout}\n${run.stderr}`);
  const lines = run.stderr.trim().split('\n');
  assert.match(lines[0] ?? '', message);
  assert.ok(!/\bat \S+:\d+:\d+/.test(run.stderr), 'no stack trace');
  return run.stdout + run.stderr;
};

/** A directory of links to every tool on PATH but `missing`: a machine without that package. */
function pathWithout(...missing: string[]): string {
  const bin = tempDir('bin');
  for (const dir of process.env.PATH!.split(':')) {
    let names: string[] = [];
    try {
      names = execFileSync('ls', [dir], { encoding: 'utf8' }).split('\n');
    } catch {
      continue;
    }
    for (const name of names.filter((n) => n && !missing.includes(n))) {
      try {
        symlinkSync(path.join(dir, name), path.join(bin, name));
      } catch {
        // the first directory on PATH wins, as for a shell
      }
    }
  }
  return bin;
}

describe('worker start-up checks', () => {
  it('zstd or age missing: one line saying what to install', async () => {
    await refusal({ PATH: pathWithout('zstd') }, /^pgkeeper worker: zstd was not found on the worker; install zstd \(Debian: apt-get install zstd\)$/);
    const key = path.join(tempDir('age'), 'key.txt');
    execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' });
    const recipient = execFileSync('age-keygen', ['-y', key], { encoding: 'utf8' }).trim();
    await refusal({ PATH: pathWithout('age'), ENCRYPT_RECIPIENTS: recipient }, /^pgkeeper worker: age was not found on the worker; install age/);
    // Both missing: both named at once, so one install is enough.
    await refusal({ PATH: pathWithout('age', 'zstd'), ENCRYPT_RECIPIENTS: recipient }, /^pgkeeper worker: age and zstd were not found on the worker; install them \(Debian: apt-get install age zstd\)$/);
  });

  it('PG_BIN_DIR without the pg tools: one line naming the variable, its value and what is not there', async () => {
    const empty = tempDir('pgbin');
    await refusal({ PG_BIN_DIR: empty }, new RegExp(`^pgkeeper worker: PG_BIN_DIR is "${empty}", which holds no pg_dump, pg_restore, pg_dumpall, psql: set it to the directory of the PostgreSQL client tools`));
    // Only pg_dump there: the others are named.
    symlinkSync(execFileSync('sh', ['-c', 'command -v pg_dump'], { encoding: 'utf8' }).trim(), path.join(empty, 'pg_dump'));
    await refusal({ PG_BIN_DIR: empty }, /which holds no pg_restore, pg_dumpall, psql:/);
    await refusal({ PG_BIN_DIR: path.join(empty, 'nope') }, /^pgkeeper worker: PG_BIN_DIR is ".*nope", which is not a directory: set it to the directory of the PostgreSQL client tools/);
  });

  it('encryption keys that do not read are refused by name', async () => {
    const dir = tempDir('keys');
    await refusal({ ENCRYPT_RECIPIENTS: 'age1notakey' }, /ENCRYPT_RECIPIENTS: "age1notakey…" is not an age public key/);
    writeFileSync(path.join(dir, 'recipients.txt'), 'ssh-rsa AAAA not-age\n');
    await refusal({ ENCRYPT_RECIPIENTS: path.join(dir, 'recipients.txt') }, /ENCRYPT_RECIPIENTS: .*recipients\.txt must list age public keys/);
    await refusal({ ENCRYPT_RECIPIENTS: path.join(dir, 'nope.txt') }, /ENCRYPT_RECIPIENTS: cannot read .*nope\.txt \(ENOENT\)/);
    await refusal({ ENCRYPT_RECIPIENTS: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample user@host' }, /ENCRYPT_RECIPIENTS: pgkeeper takes age X25519 public keys \(age1…\), not ssh keys/);
    const key = path.join(dir, 'key.txt');
    execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' });
    const recipient = execFileSync('age-keygen', ['-y', key], { encoding: 'utf8' }).trim();
    // "$KEY1,$KEY2" with both unset: encryption was meant, and is not silently off.
    await refusal({ ENCRYPT_RECIPIENTS: ' , ,' }, /ENCRYPT_RECIPIENTS is " , ,", which lists no key: give age public keys/);
    // One character off keeps the shape of a key; only age, asked at start, knows its checksum is wrong.
    const typo = `${recipient.slice(0, -1)}${recipient.endsWith('q') ? 'p' : 'q'}`;
    await refusal({ ENCRYPT_RECIPIENTS: `${recipient},${typo}` }, new RegExp(`^pgkeeper worker: ENCRYPT_RECIPIENTS: age refuses the keys \\(malformed recipient "${typo}": invalid checksum\\); check each one`));
    await refusal({ ENCRYPT_RECIPIENTS: `agel${recipient.slice(4)}` }, /^pgkeeper worker: ENCRYPT_RECIPIENTS: "agel\S{16}…" is neither an age public key \("age1" and 58 characters, as age-keygen prints\) nor a file that exists$/);
    await refusal({ AGE_IDENTITY_FILE: dir }, /AGE_IDENTITY_FILE .*keys\S* is a directory; point it at the file age-keygen wrote$/);
    writeFileSync(path.join(dir, 'commented.txt'), `${recipient} # ops laptop\n`);
    await refusal({ ENCRYPT_RECIPIENTS: path.join(dir, 'commented.txt') }, /commented\.txt must list age public keys \(age1…\), one per line; a comment goes on a line of its own, starting with #$/);
    // An identity kept encrypted (as `age -p` leaves it): nobody can type its passphrase for the worker.
    execFileSync('age', ['-r', recipient, '-o', path.join(dir, 'sealed.txt'), key]);
    await refusal({ AGE_IDENTITY_FILE: path.join(dir, 'sealed.txt') }, /AGE_IDENTITY_FILE .*sealed\.txt is itself an age-encrypted file .* decrypt it once/);
    writeFileSync(path.join(dir, 'id_ed25519'), '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n');
    await refusal({ AGE_IDENTITY_FILE: path.join(dir, 'id_ed25519') }, /AGE_IDENTITY_FILE .*id_ed25519 is an ssh key; pgkeeper takes age X25519 identities/);
    writeFileSync(path.join(dir, 'identity.txt'), 'not an identity\n');
    await refusal({ AGE_IDENTITY_FILE: path.join(dir, 'identity.txt') }, /AGE_IDENTITY_FILE .*identity\.txt is not a readable age identity file \(failed to parse input: .*malformed secret key/);
    await refusal({ AGE_IDENTITY_FILE: path.join(dir, 'none.txt') }, /AGE_IDENTITY_FILE .*none\.txt cannot be read \(ENOENT\); point it at the file age-keygen wrote, readable by the worker's user$/);
    // A private key where public keys belong is refused without echoing a character of it.
    const secret = execFileSync('age-keygen', { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    const secretKey = /AGE-SECRET-KEY-\S+/.exec(secret)![0];
    writeFileSync(path.join(dir, 'secret.txt'), secret);
    // Also pasted in quotes (as an env file may keep them) or after a name: anywhere in the value.
    for (const setting of [secretKey, `"${secretKey}"`, `key=${secretKey}`, path.join(dir, 'secret.txt')]) {
      const said = await refusal({ ENCRYPT_RECIPIENTS: setting }, /holds an age private key \(AGE-SECRET-KEY-…\), where only public keys \(age1…\) belong/);
      const secretPart = secretKey.slice('AGE-SECRET-KEY-'.length);
      for (let at = 0; at + 6 <= secretPart.length; at += 6) assert.ok(!said.includes(secretPart.slice(at, at + 6)), `no piece of the key: ${said}`);
    }
  });

  it('stores that cannot be used are refused by name', async () => {
    const dir = tempDir('stores');
    writeFileSync(path.join(dir, 'a-file'), '');
    await refusal({ BACKUP_DIR: path.join(dir, 'a-file', 'backups') }, /cannot use file:\/\/.*a-file\/backups as the store .* point BACKUP_DIR at one the worker can write/);
    mkdirSync(path.join(dir, 'primary'));
    await refusal({ BACKUP_DIR: path.join(dir, 'primary'), BACKUP_COPIES: path.join(dir, 'a-file', 'copies') }, /cannot use file:\/\/.*a-file\/copies as the store .* point BACKUP_COPIES at one the worker can write/);
    await refusal({ BACKUP_STORE: 's3://b/p', BACKUP_DIR: dir }, /set BACKUP_STORE or BACKUP_DIR, not both/);
    await refusal({ BACKUP_STORE: 'ftp://x/y' }, /unsupported store "ftp:\/\/"/);
    await refusal({ BACKUP_STORE: 's3://key:secret@bucket/p' }, /put S3 credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not in the store URL/);
    mkdirSync(path.join(dir, 'same'));
    await refusal({ BACKUP_DIR: path.join(dir, 'same'), BACKUP_COPIES: `file://${path.join(dir, 'same')}` }, /is named twice .* each copy must go to another store/);
    // A copy that is the primary under another name: one store, however it is spelt.
    symlinkSync(path.join(dir, 'same'), path.join(dir, 'link'));
    await refusal({ BACKUP_DIR: path.join(dir, 'same'), BACKUP_COPIES: `file://${path.join(dir, 'link')}` }, /^pgkeeper worker: invalid configuration: stores file:\/\/\S*\/same and file:\/\/\S*\/link are one directory .*; symbolic links resolved: (.*, )?file:\/\/\S*\/link is \S*\/same$/);
  });

  it('a copy store that is the primary mounted again (a bind mount), or inside it so, or a folder of it mounted elsewhere, is refused: a copy there is no copy', async () => {
    const dir = tempDir('bind');
    for (const sub of ['primary/nested', 'again']) mkdirSync(path.join(dir, sub), { recursive: true });
    const [primary, again] = [path.join(dir, 'primary'), path.join(dir, 'again')];
    const inside = (copy: string) =>
      new RegExp(`^pgkeeper worker: invalid configuration: store file://${copy} lies inside store file://${primary} \\(the same directory on disk, reached through a bind mount or a second mount\\): give each store a directory of its own, neither inside the other$`);
    await refusal(
      { BACKUP_DIR: primary, BACKUP_COPIES: again },
      new RegExp(`^pgkeeper worker: invalid configuration: stores file://${primary} and file://${again} are one directory \\(a bind mount, or the same file system mounted twice\\): a copy there is no copy; give each store a directory of its own, a copy on another disk$`),
      [primary, again],
    );
    // The copy in a folder of the primary, reached through the mount.
    await refusal({ BACKUP_DIR: primary, BACKUP_COPIES: path.join(again, 'nested') }, inside(`${again}/nested`), [primary, again]);
    // A folder of the primary mounted as the copy (Docker: -v /srv/b:/backups -v /srv/b/offsite:/copy).
    await refusal({ BACKUP_DIR: primary, BACKUP_COPIES: again }, inside(again), [path.join(primary, 'nested'), again]);
  });

  it('a store directory not there is not made (it may be an unmounted disk\'s mount point): a primary stops the worker, a copy is said and the worker starts; the default store is made', async () => {
    const dir = tempDir('not-made');
    const primary = path.join(dir, 'mnt', 'pgkeeper');
    await refusal({ BACKUP_DIR: primary }, new RegExp(`^pgkeeper worker: file://${primary} is not there \\(.*a disk not mounted.*\\); mount it, make it \\(mkdir -p ${primary}\\), or change BACKUP_DIR$`));
    const copy = path.join(dir, 'copy');
    const run = await startWorker({ BACKUP_COPIES: copy });
    const [first, second] = `${run.stdout}\n${run.stderr}`.trim().split('\n').map((line) => (JSON.parse(line) as { msg: string }).msg);
    assert.match(first ?? '', new RegExp(`^file://${copy} is not there .*, or change BACKUP_COPIES \\(the worker starts anyway; runs retry\\)$`));
    // The operating system's words, not the core's nested transport error.
    assert.match(second ?? '', /^cannot reach Temporal at 127\.0\.0\.1:1 \(Connection refused\); start it/, 'it went on to connect');
    for (const made of [primary, path.join(dir, 'mnt'), copy]) assert.equal(existsSync(made), false, `${made} was made`);
    // BACKUP_DIR unset: the worker's own .data/backups, which nothing else can be mounted on, is made.
    const unset = await startWorker({}, { cwd: dir, defaultStore: true });
    assert.match(`${unset.stdout}\n${unset.stderr}`, /cannot reach Temporal/);
    assert.equal(statSync(path.join(dir, '.data', 'backups')).isDirectory(), true);
  });

  it('worth a word at start: an identity file others may read, recipients none of whose keys the worker holds; refused: DB_HOST naming the socket file, an S3 endpoint that is no URL', async () => {
    const dir = tempDir('warned');
    const [mine, other] = ['mine', 'other'].map((name) => {
      const file = path.join(dir, `${name}.txt`);
      execFileSync('age-keygen', ['-o', file], { stdio: 'ignore' });
      return { file, recipient: execFileSync('age-keygen', ['-y', file], { encoding: 'utf8' }).trim() };
    });
    chmodSync(mine!.file, 0o644);
    const run = await startWorker({ AGE_IDENTITY_FILE: mine!.file, ENCRYPT_RECIPIENTS: other!.recipient });
    const said = `${run.stdout}\n${run.stderr}`.trim().split('\n').map((line) => (JSON.parse(line) as { msg: string }).msg);
    assert.ok(said.includes(`AGE_IDENTITY_FILE ${mine!.file} may be read by others (mode 644): it decrypts every backup; chmod 600 it`), said.join('\n'));
    assert.ok(said.some((m) => m.startsWith('none of ENCRYPT_RECIPIENTS is a key of AGE_IDENTITY_FILE: this worker cannot restore or drill the backups it makes')), said.join('\n'));
    assert.match(said.at(-1) ?? '', /^cannot reach Temporal/, 'it starts all the same');
    // The old backup.sh's user with libpq's PGPASSWORD: told which variable is meant, before the worker drops it.
    const libpq = await startWorker({ DB_PASSWORD: '', PGPASSWORD: 'from-libpq' });
    assert.match(libpq.stdout, /PGPASSWORD is not read by pgkeeper \(ignored; its tools are given DB_PASSWORD\); did you mean DB_PASSWORD\?/);

    const cluster = testCluster();
    const socketDir = path.join(path.dirname(cluster.dataDir), 'socket'); // scripts/test-cluster.sh's
    const socket = path.join(socketDir, `.s.PGSQL.${cluster.port}`);
    await refusal({ DB_HOST: socket }, new RegExp(`^pgkeeper worker: DB_HOST ${socket.replace(/\./g, '\\.')} is the socket itself; give its directory \\(${socketDir}\\)$`));
    await refusal({ BACKUP_STORE: 's3://bucket/p', AWS_ENDPOINT_URL_S3: '127.0.0.1:9000' }, /^pgkeeper worker: the S3 endpoint must be an http:\/\/ or https:\/\/ URL; check AWS_ENDPOINT_URL/);
  });

  it('an S3 store that takes connections and never answers: the worker says so within its check\'s 15 s and starts', async () => {
    const silent = createServer(() => undefined); // holds every connection, says nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const startedMs = Date.now();
      const run = await startWorker({ BACKUP_STORE: 's3://bucket/p', AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' });
      const [first] = `${run.stdout}\n${run.stderr}`.trim().split('\n').map((line) => (JSON.parse(line) as { msg: string }).msg);
      assert.equal(first, 's3://bucket/p did not answer within 15 s (the worker starts anyway; runs retry)');
      assert.ok(Date.now() - startedMs < 45_000, `${Date.now() - startedMs} ms`);
    } finally {
      silent.close();
    }
  });

  it('a metrics port another program holds (a second worker on the host): one line naming METRICS_ADDRESS, not a stack trace', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = holder.address() as AddressInfo;
      await refusal({ METRICS_ADDRESS: `127.0.0.1:${port}` }, new RegExp(`^pgkeeper worker: METRICS_ADDRESS 127\\.0\\.0\\.1:${port}: the metrics server cannot listen there \\(.*in use.*\\); pick a free port, or unset it$`, 'i'));
    } finally {
      holder.close();
    }
  });

  it('an S3 store that does not answer yet: the worker says so first and starts anyway (no SDK notice about Node versions above it)', async () => {
    const run = await startWorker({ BACKUP_STORE: 's3://bucket/p', AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' });
    assert.doesNotMatch(run.stderr, /NodeVersionSupportWarning/);
    const [first, second] = `${run.stdout}\n${run.stderr}`.trim().split('\n').map((line) => (JSON.parse(line) as { msg: string }).msg);
    assert.match(first ?? '', /^S3 endpoint http:\/\/127\.0\.0\.1:1 unavailable \(ECONNREFUSED\) while writing \S+ in s3:\/\/bucket\/p; .*\(the worker starts anyway; runs retry\)$/);
    assert.match(second ?? '', /^cannot reach Temporal at 127\.0\.0\.1:1 /, 'it went on to connect');
  });

  it('a scratch directory that cannot be made or written is refused by name', async () => {
    const dir = tempDir('scratch');
    writeFileSync(path.join(dir, 'a-file'), '');
    await refusal(
      { SCRATCH_DIR: path.join(dir, 'a-file', 'scratch') },
      /^pgkeeper worker: cannot use \S*a-file\/scratch as the scratch directory \(ENOTDIR\): restores decompress the archive there; point SCRATCH_DIR at a directory the worker can write/,
    );
    // Under /proc, Node's own recursive mkdir spins for ever; these must fail at once.
    await refusal({ SCRATCH_DIR: '/proc/pgkeeper-scratch' }, /^pgkeeper worker: cannot use \/proc\/pgkeeper-scratch as the scratch directory \(ENOENT\)/);
    await refusal({ BACKUP_DIR: '/proc/pgkeeper-backups/x' }, /^pgkeeper worker: .*file:\/\/\/proc\/pgkeeper-backups\/x/);
    // Inside a store, the archive decrypted for a restore would lie among the backups (and be copied off-site).
    const store = tempDir('store-with-scratch');
    await refusal({ BACKUP_DIR: store, SCRATCH_DIR: path.join(store, 'app') }, new RegExp(`^pgkeeper worker: the scratch directory ${store}/app lies inside store file://${store}: .*point SCRATCH_DIR at a directory outside every store$`));
  });

  it('a checkout run from its sources before `npm run build`: one line saying to build, not a stack trace', async () => {
    const checkout = tempDir('unbuilt');
    for (const entry of ['bin', 'client', 'common', 'worker', 'activities', 'workflows', 'package.json', 'tsconfig.json']) cpSync(path.join(ROOT, entry), path.join(checkout, entry), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'));
    const run = await execa(path.join(checkout, 'bin', 'pgkeeper'), ['worker'], { reject: false, timeout: 60_000, extendEnv: false, env: { PATH: process.env.PATH!, HOME: process.env.HOME!, BACKUP_DIR: path.join(checkout, 'backups') } });
    assert.equal(run.exitCode, 2, run.stderr);
    assert.equal(run.stderr.trim(), `pgkeeper worker: the workflow bundle ${checkout}/dist/workflow-bundle.js is missing: run \`npm run build\` first`);
  });
});
