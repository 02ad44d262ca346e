/**
 * The JSON Schema (draft-07) of mlo.yaml for editor completion, generated from its zod schema by
 * zod-to-json-schema, so the published schema/mlo.schema.json can never drift from the validator: a
 * test compares the two.
 */
import { zodToJsonSchema } from 'zod-to-json-schema';
import { pipelineSchema } from './schema.js';

type Json = Record<string, unknown>;

/** The published JSON Schema of mlo.yaml. */
export function pipelineJsonSchema(): Json {
  const { $schema, ...schema } = zodToJsonSchema(pipelineSchema, {
    target: 'jsonSchema7',
    // Every schema inline, no $ref: the same shape wherever a reused part (an output entry) appears,
    // which every editor's completion follows, and the file reads top to bottom.
    $refStrategy: 'none',
  }) as Json;
  return {
    $schema,
    title: 'mlo.yaml',
    description: 'mlo pipeline stages (see docs/pipelines.md)',
    ...schema,
  };
}
