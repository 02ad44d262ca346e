/**
 * The feature contract of a model: the names and order of the table columns its single 2-D input
 * takes. It is decided once, at package time (or when a bare .onnx file is loaded), and predict, the
 * dataframe and CSV request formats of serve, and the serve logs all map columns through it, by name.
 *
 * Sources, strongest first: the model's own ONNX metadata (`feature_names`), then `--columns`. A model
 * whose inputs are one column each ([N] or [N, 1]) needs no list: its input names are its features.
 */
import { MloError } from '../../base/errors.js';
import type { Dim, TensorSpec } from './onnx.js';

/** The metadata_props key mlo reads feature names from: a JSON list or a comma-separated string. */
export const FEATURE_NAMES_KEY = 'feature_names';

export type ContractSource = 'metadata' | 'columns' | 'inputs' | 'none';

export interface FeatureContract {
  /** Feature column names in order, for a single 2-D input; undefined when inputs bind by name or none are known. */
  columns?: string[];
  source: ContractSource;
}

/** The single 2-D input fed from table rows, if the model has exactly that shape of input. */
export function tableInput(inputs: TensorSpec[]): TensorSpec | undefined {
  if (inputs.length !== 1) return undefined;
  const spec = inputs[0];
  return spec.shape?.length === 2 ? spec : undefined;
}

/** Feature names the model declares in its metadata, or undefined. */
export function metadataFeatures(metadata: Record<string, string>, label: string): string[] | undefined {
  const raw = metadata[FEATURE_NAMES_KEY];
  if (raw === undefined) return undefined;
  let names: unknown;
  const text = raw.trim();
  if (text.startsWith('[')) {
    try {
      names = JSON.parse(text);
    } catch {
      names = undefined;
    }
  } else {
    names = text.split(',').map((s) => s.trim());
  }
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string' && n !== '')) {
    throw new MloError('MLO_BAD_ONNX', `${label}: metadata '${FEATURE_NAMES_KEY}' is not a list of names (${JSON.stringify(raw.slice(0, 80))})`, {
      hint: 'write it as a JSON list of strings or a comma-separated string, e.g. "f1,f2,f3"',
    });
  }
  const seen = new Set<string>();
  for (const n of names as string[]) {
    if (seen.has(n)) throw new MloError('MLO_BAD_ONNX', `${label}: metadata '${FEATURE_NAMES_KEY}' names '${n}' twice`);
    seen.add(n);
  }
  return names as string[];
}

/**
 * Decides the contract from what the model says and what the user gave. `--columns` that contradicts
 * the model's own names (or its input width) is refused: a wrong list would feed the wrong columns
 * without an error anywhere later.
 */
export function resolveContract(
  model: { inputs: TensorSpec[]; metadata: Record<string, string> },
  options: { columns?: string[]; label: string },
): FeatureContract {
  const { label } = options;
  const given = options.columns?.length ? options.columns : undefined;
  const declared = metadataFeatures(model.metadata, label);
  const table = tableInput(model.inputs);
  if (given) checkUnique(given, '--columns');
  if (!table) {
    const names = model.inputs.map((i) => i.name);
    if (declared) {
      throw new MloError('MLO_BAD_ONNX', `${label}: metadata '${FEATURE_NAMES_KEY}' names features, but the model has no single 2-D input to take them`, {
        hint: 'feature names apply to a model with one [batch, features] input; otherwise name each input after its feature',
      });
    }
    if (given && given.join(',') !== names.join(',')) {
      throw new MloError('MLO_FEATURE_MISMATCH', `--columns ${given.join(',')} contradicts ${label}, whose inputs name its features: ${names.join(', ')}`, {
        hint: 'drop --columns: each input takes the column named after it',
      });
    }
    return { source: model.inputs.every(isColumnInput) ? 'inputs' : 'none' };
  }
  const width = table.shape![1];
  if (declared) {
    if (!isFreeDim(width) && declared.length !== width) {
      throw new MloError(
        'MLO_BAD_ONNX',
        `${label}: metadata '${FEATURE_NAMES_KEY}' names ${declared.length} features but input '${table.name}' takes ${width}`,
        { hint: 'fix the metadata when exporting the model' },
      );
    }
    if (given && given.join(',') !== declared.join(',')) {
      throw new MloError('MLO_FEATURE_MISMATCH', `--columns ${given.join(',')} contradicts the feature names in ${label}'s metadata: ${declared.join(',')}`, {
        hint: 'drop --columns (the model already names its features), or export the model with the right names',
      });
    }
    return { columns: declared, source: 'metadata' };
  }
  if (given) {
    if (!isFreeDim(width) && given.length !== width) {
      throw new MloError('MLO_FEATURE_MISMATCH', `--columns names ${given.length} features but input '${table.name}' of ${label} takes ${width}`, {
        hint: `give ${width} column names, in the order the model was trained on`,
      });
    }
    return { columns: given, source: 'columns' };
  }
  return { source: 'none' };
}

function isColumnInput(spec: TensorSpec): boolean {
  const rank = spec.shape?.length ?? 1;
  return rank === 1 || (rank === 2 && spec.shape![1] === 1);
}

function checkUnique(names: string[], where: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new MloError('MLO_FEATURE_MISMATCH', `${where} names '${n}' twice`, { hint: 'name each feature column once' });
    seen.add(n);
  }
}

/** A dimension that takes any size (runtime.ts has the same test; importing it would load onnxruntime). */
function isFreeDim(d: Dim): boolean {
  return typeof d !== 'number' || d < 0;
}
