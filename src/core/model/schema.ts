/**
 * `model.yaml`, written by `mlo model package` next to the model file: what the model is (hash, size,
 * signature), where it came from (git commit, params, metrics, data hashes), an input example and a
 * model card. The registry copies it into each version file, so a version stays complete on its own.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Document, isMap, isSeq, visit } from 'yaml';
import { z } from 'zod';
import { MloError } from '../../base/errors.js';
import { toPosix } from '../../base/fs.js';
import { readYamlFile } from '../../base/yamlfile.js';
import { countSchema } from '../data/pointer/schema.js';

export const MODEL_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const modelNameSchema = z
  .string()
  .regex(MODEL_NAME_RE, 'must be 1-64 lowercase letters, digits, dots, dashes or underscores, starting with a letter or digit');

export const dimSchema = z.union([z.number().int(), z.string(), z.null()]);

export const tensorSpecSchema = z
  .object({
    name: z.string(),
    type: z.string(),
    shape: z.array(dimSchema).optional(),
    doc: z.string().optional(),
  })
  .strict();

export const signatureSchema = z
  .object({
    inputs: z.array(tensorSpecSchema),
    outputs: z.array(tensorSpecSchema),
    /** Feature column names, in order, for a single 2-D input fed from tables (predict, dataframes). */
    columns: z.array(z.string()).optional(),
  })
  .strict();

export const lineageSchema = z
  .object({
    git: z
      .object({
        commit: z.string().nullable(),
        branch: z.string().optional(),
        dirty: z.boolean(),
      })
      .strict()
      .optional(),
    /** Flattened `key: value` params, from mlo.lock (or params.yaml when there is no lock). */
    params: z.record(z.string(), z.unknown()).optional(),
    /** Flattened numeric metrics from the metrics files found. */
    metrics: z.record(z.string(), z.number()).optional(),
    /** Data the model was trained on: path and content hash, from mlo.lock dependencies. */
    data: z.array(z.object({ path: z.string(), hash: z.string() }).strict()).optional(),
    sources: z.array(z.string()).optional(),
  })
  .strict();

export const modelFileSchema = z
  .object({
    path: z.string(),
    hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a 64-character blake3 hex digest'),
    algo: z.literal('blake3'),
    // The pointer rule: a whole number 0..2^53-1, so a committed 1e300 cannot pass as a size.
    size: countSchema,
    format: z.literal('onnx'),
    ir_version: z.number().int(),
    opsets: z.record(z.string(), z.number().int()),
    producer: z.string().optional(),
  })
  .strict();

export const exampleSchema = z
  .object({
    /** True when mlo made the input up from the signature (no --example given). */
    synthesized: z.boolean(),
    inputs: z.record(z.string(), z.unknown()),
    outputs: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const cardSchema = z
  .object({
    description: z.string().optional(),
    meta: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export const modelYamlSchema = z
  .object({
    schema: z.literal(1),
    name: modelNameSchema,
    created: z.string(),
    model: modelFileSchema,
    signature: signatureSchema,
    example: exampleSchema.optional(),
    lineage: lineageSchema.default({}),
    card: cardSchema.default({}),
  })
  .strict();

export type ModelYaml = z.infer<typeof modelYamlSchema>;
export type ModelSignature = z.infer<typeof signatureSchema>;
export type Lineage = z.infer<typeof lineageSchema>;
export type ModelExample = z.infer<typeof exampleSchema>;

export const MODEL_YAML = 'model.yaml';

/** Reads and validates `DIR/model.yaml`. */
export function readPackage(dir: string, display = dir): ModelYaml {
  const file = join(dir, MODEL_YAML);
  if (!existsSync(file)) {
    throw new MloError('MLO_NOT_A_PACKAGE', `${display} is not a model package (no ${MODEL_YAML})`, {
      hint: 'create one with `mlo model package model.onnx --name NAME`',
    });
  }
  return readYamlFile(file, modelYamlSchema, toPosix(join(display, MODEL_YAML))).value;
}

/** YAML for model.yaml and registry files: lists of scalars (shapes, example rows) on one line each. */
export function toYaml(value: unknown, header: string): string {
  const doc = new Document(value, { aliasDuplicateObjects: false });
  visit(doc, {
    Seq(_, node) {
      if (node.items.every((i) => !isMap(i) && !(isSeq(i) && i.items.some(isMap)))) node.flow = true;
    },
  });
  return `${header}\n${doc.toString({ lineWidth: 0, flowCollectionPadding: false })}`;
}
