/** `mlo version` / `mlo doctor`: what a bug report needs, and which link type works in this repo. */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { gitVersion } from '../../base/git.js';
import { LINK_TYPES, type LinkType } from '../repo/config.js';
import { cacheTmpDir } from './cache/objects.js';
import { findRoot, repoAt, type Repo } from '../repo/repo.js';
import { isMloError } from '../../base/errors.js';
import { probeLinkType } from './workspace/link.js';
import { nativeWalkAvailable } from './workspace/native-walk.js';

export interface DoctorReport {
  mlo: string;
  node: string;
  platform: string;
  cpus: number;
  memoryGiB: number;
  git?: string;
  dependencies: Record<string, string>;
  /** Whether the C walker (native/fswalk.c) is built and in use; without it walks run in JavaScript. */
  nativeWalker: boolean;
  repo?: {
    root: string;
    cache: string;
    configuredLinkTypes: LinkType[];
    workingLinkType?: LinkType;
    supportedLinkTypes: LinkType[];
  };
  /**
   * Why the repository here could not be opened (a clone's symlink in .mlo/, a cache.dir outside it, a
   * broken config): doctor reports it instead of refusing, since that is what a user runs it to learn.
   */
  repoProblem?: { root: string; code: string; message: string; hint?: string };
}

const require = createRequire(import.meta.url);

function versionOf(pkg: string): string {
  try {
    const file = require.resolve(`${pkg}/package.json`);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

export function doctor(options: { cwd: string; mloVersion: string }): DoctorReport {
  const report: DoctorReport = {
    mlo: options.mloVersion,
    node: process.version,
    platform: `${platform()} ${release()} ${arch()}`,
    cpus: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    git: gitVersion(),
    nativeWalker: nativeWalkAvailable(),
    dependencies: Object.fromEntries(['better-sqlite3', '@napi-rs/blake-hash', 'onnxruntime-node', '@aws-sdk/client-s3'].map((p) => [p, versionOf(p)])),
  };
  const root = findRoot(options.cwd);
  if (root) {
    let repo: Repo;
    try {
      repo = repoAt(root);
    } catch (err) {
      if (!isMloError(err)) throw err;
      report.repoProblem = { root, code: err.code, message: err.message, hint: err.hint };
      return report;
    }
    const tmp = cacheTmpDir(repo.cacheDir);
    mkdirSync(tmp, { recursive: true });
    const probe = join(tmp, `doctor-${process.pid}`);
    writeFileSync(probe, 'mlo link probe\n');
    try {
      const supported = LINK_TYPES.filter((t) => probeLinkType(repo, probe, [t]) === t);
      report.repo = {
        root,
        cache: repo.cacheDir,
        configuredLinkTypes: repo.config.cache.type,
        workingLinkType: repo.config.cache.type.find((t) => supported.includes(t)),
        supportedLinkTypes: supported,
      };
    } finally {
      rmSync(probe, { force: true });
    }
  }
  return report;
}
