/**
 * Globals: roles, memberships and tablespaces, which `pg_dump` leaves out.
 * dumpGlobals writes `pg_dumpall --globals-only` like a database backup (checksum, manifest last).
 * applyGlobals creates only what the server lacks: existing roles are never altered, so restoring
 * globals cannot reset a live role's password or attributes.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Config } from '../common/config.js';
import { FailureType } from '../common/errors.js';
import { GLOBALS_DIR, globalsFileNames, type GlobalsManifest } from '../common/globals.js';
import { IDENT_PATTERN, unquoteIdent } from '../common/sql.js';
import { failure, rejectingInput } from './failures.js';
import { pgToolVersion, runPgTool, runPgToolOutput } from './pg-tools.js';
import { resolveInside, writeFileAtomic } from './backup-store.js';
import { MAINTENANCE_DATABASE, withAdmin } from './database-admin.js';
import { sha256File } from './verify-checksum.js';

const COMPLETE_MARKER = '-- PostgreSQL database cluster dump complete';

function globalsPaths(config: Config, id: string) {
  const dir = resolveInside(config.backupDir, GLOBALS_DIR);
  const names = globalsFileNames(id);
  return { dir, script: path.join(dir, names.script), checksum: path.join(dir, names.checksum), manifest: path.join(dir, names.manifest) };
}

export async function dumpGlobals(config: Config, req: { globalsId: string }): Promise<{ id: string; path: string; sizeBytes: number }> {
  const paths = globalsPaths(config, req.globalsId);
  const startedAt = new Date().toISOString();
  const script = await runPgTool(config, 'pg_dumpall', ['--globals-only', '--no-password'], { purpose: 'dump roles and tablespaces' });
  if (!script.includes(COMPLETE_MARKER)) {
    throw failure(config, FailureType.PgToolFailed, 'pg_dumpall --globals-only produced an incomplete script; the globals backup was not written');
  }
  await fs.mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const sha256 = createHash('sha256').update(script).digest('hex');
  // Role password hashes are in this file: readable by the worker's user only.
  await writeFileAtomic(paths.script, script, 0o600);
  await writeFileAtomic(paths.checksum, `${sha256}  ${path.basename(paths.script)}\n`);
  const manifest: GlobalsManifest = {
    manifestVersion: 1,
    kind: 'globals',
    id: req.globalsId,
    file: path.basename(paths.script),
    sizeBytes: Buffer.byteLength(script),
    sha256,
    pgDumpallVersion: await pgToolVersion(config, 'pg_dumpall'),
    startedAt,
    finishedAt: new Date().toISOString(),
    roles: (script.match(/^CREATE ROLE /gm) ?? []).length,
  };
  await writeFileAtomic(paths.manifest, JSON.stringify(manifest, null, 2) + '\n');
  return { id: req.globalsId, path: paths.script, sizeBytes: manifest.sizeBytes };
}

async function listGlobalsBackups(config: Config): Promise<GlobalsManifest[]> {
  const dir = resolveInside(config.backupDir, GLOBALS_DIR);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const manifests: GlobalsManifest[] = [];
  for (const name of names.filter((n) => n.endsWith('.manifest.json'))) {
    const manifest = JSON.parse(await fs.readFile(path.join(dir, name), 'utf8').catch(() => 'null')) as GlobalsManifest | null;
    if (manifest?.kind === 'globals') manifests.push(manifest);
  }
  return manifests.sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1));
}

const ROLE_STATEMENT = new RegExp(`^(?:CREATE|ALTER) ROLE (${IDENT_PATTERN})[\\s;]`);
const MEMBERSHIP = new RegExp(`^GRANT (?:${IDENT_PATTERN}) TO (${IDENT_PATTERN})[\\s;]`);

/**
 * The globals script minus everything that would change a role that already exists: its
 * CREATE/ALTER ROLE statements and the memberships granted to it. Only missing roles are made.
 */
export function scriptForMissingRoles(script: string, existing: Set<string>): { script: string; created: string[] } {
  const created = new Set<string>();
  const kept = script.split('\n').filter((line) => {
    const role = ROLE_STATEMENT.exec(line);
    if (role) {
      const name = unquoteIdent(role[1]!);
      if (existing.has(name)) return false;
      created.add(name);
      return true;
    }
    const member = MEMBERSHIP.exec(line);
    return !(member && existing.has(unquoteIdent(member[1]!)));
  });
  return { script: kept.join('\n'), created: [...created].sort() };
}

export interface ApplyGlobalsResult {
  id: string;
  created: string[];
  warnings: string[];
}

export async function applyGlobals(config: Config, req: { globals: string }): Promise<ApplyGlobalsResult> {
  const manifest = await rejectingInput(config, async () => {
    const all = await listGlobalsBackups(config);
    const found = req.globals === 'latest' ? all[0] : all.find((m) => m.id === req.globals);
    if (!found) {
      throw failure(config, FailureType.BackupNotFound, `no globals backup "${req.globals}" in ${path.join(config.backupDir, GLOBALS_DIR)}; run \`pgkeeper backup --all\` to make one`);
    }
    return found;
  });
  const paths = globalsPaths(config, manifest.id);
  const actual = await sha256File(paths.script, () => undefined);
  if (actual !== manifest.sha256) {
    throw failure(config, FailureType.ChecksumMismatch, `globals backup ${manifest.id} does not match its manifest: it is damaged or was changed`);
  }
  const existing = await withAdmin(config, async (client) => new Set((await client.query<{ rolname: string }>('select rolname from pg_roles')).rows.map((r) => r.rolname)));
  const { script, created } = scriptForMissingRoles(await fs.readFile(paths.script, 'utf8'), existing);
  const filtered = `${paths.script}.apply-${process.pid}.partial`;
  await fs.writeFile(filtered, script, { mode: 0o600 });
  try {
    // Without ON_ERROR_STOP: a tablespace or membership that already exists is reported, not fatal.
    const { stderr } = await runPgToolOutput(config, 'psql', ['-X', '-q', '--no-password', '-d', MAINTENANCE_DATABASE, '-f', filtered], {
      purpose: `apply globals ${manifest.id}`,
    });
    const warnings = stderr
      .split('\n')
      .filter((line) => /ERROR:/.test(line))
      .map((line) => `globals: ${line.replace(/^psql:[^:]*:\d+: /, '')}`);
    return { id: manifest.id, created, warnings };
  } finally {
    await fs.rm(filtered, { force: true });
  }
}
