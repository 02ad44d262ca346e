import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pipelineJsonSchema } from './jsonschema.js';

describe('published JSON Schema of mlo.yaml', () => {
  it('matches the zod schema (regenerate with npm run build && node schema/generate.mjs)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../../schema/mlo.schema.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(pipelineJsonSchema());
  });

  it('describes stages strictly, for editor completion', () => {
    const schema = pipelineJsonSchema() as any;
    const stage = schema.properties.stages.additionalProperties;
    expect(stage.additionalProperties).toBe(false);
    expect(Object.keys(stage.properties)).toEqual(expect.arrayContaining(['cmd', 'deps', 'outs', 'params', 'metrics', 'foreach', 'do', 'matrix', 'frozen', 'always_changed']));
    expect(schema.properties.stages.propertyNames.pattern).toBeTruthy();
  });
});
