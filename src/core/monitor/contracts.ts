/**
 * Feature contracts from the model registry, for serve logs written before serve logged feature names:
 * a registered version whose package signature names the columns of its one input tells which logged
 * vector element is which feature (servelog.ts maps them by position, with a note).
 */
import { listModels, listVersionNumbers, readVersion } from '../registry/registry.js';
import type { Repo } from '../repo/repo.js';
import type { FeatureContracts } from './servelog.js';

export function registryContracts(repo: Repo): FeatureContracts {
  const out: FeatureContracts = {};
  for (const { name } of listModels(repo)) {
    for (const version of listVersionNumbers(repo, name)) {
      const { signature } = readVersion(repo, name, version);
      if (signature.inputs.length === 1 && signature.columns?.length) {
        out[`${name}@${version}`] = { input: signature.inputs[0].name, columns: signature.columns };
      }
    }
  }
  return out;
}
