/**
 * The resolved pipeline as the rest of mlo sees it: stages with every path relative to the repository
 * root. Types only, so that the loader (load.ts) and the cached fast path (open.ts) share them without
 * importing each other.
 */
import type { ParamsReader } from './params.js';

export type OutKind = 'out' | 'metric' | 'plot';

export interface StageOut {
  /** Relative to the repository root, forward slashes. */
  path: string;
  cache: boolean;
  persist: boolean;
  kind: OutKind;
  /** Where the entry is in mlo.yaml (key path), for error lines. */
  at: (string | number)[];
}

export interface StageDep {
  path: string;
  at: (string | number)[];
}

export interface StageParams {
  /** The params file, relative to the root. */
  file: string;
  /** The keys, or null for every top-level key of the file. */
  keys: string[] | null;
  at: (string | number)[];
}

export interface Stage {
  name: string;
  cmd: string | string[];
  /** Working directory relative to the root ('' for the root). */
  wdir: string;
  deps: StageDep[];
  params: StageParams[];
  outs: StageOut[];
  env: Record<string, string>;
  desc?: string;
  frozen: boolean;
  alwaysChanged: boolean;
  /** Key path of the definition in mlo.yaml (`['stages', 'train', 'do']` for generated stages). */
  at: (string | number)[];
}

export interface Pipeline {
  /** Stages in the order mlo.yaml defines them. */
  stages: Stage[];
  byName: Map<string, Stage>;
  params: ParamsReader;
  /** "mlo.yaml:12" for a key path, for error messages. */
  where(at: (string | number)[]): string;
}
