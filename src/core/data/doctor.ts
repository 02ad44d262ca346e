/** `mlo version` / `mlo doctor`: what a bug report needs, and which link type works in this repo. */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { gitVersion } from '../../base/git.js';
import { LINK_TYPES, type LinkType } from '../repo/config.js';
import { cacheTmpDir } from './cache/objects.js';
import { findRoot, repoAt } from '../repo/repo.js';
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
    const repo = repoAt(root);
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
