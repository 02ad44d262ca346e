/**
 * Turns the zod schema of mlo.yaml into a JSON Schema (draft-07) for editor completion, so the
 * published schema/mlo.schema.json can never drift from the validator: a test compares the two.
 * Covers the zod types the pipeline schema uses; anything else becomes `{}` (accept anything).
 */
import { z } from 'zod';
import { pipelineSchema } from './schema.js';

type Json = Record<string, unknown>;

export function toJsonSchema(schema: z.ZodTypeAny): Json {
  const def = schema._def as { typeName: z.ZodFirstPartyTypeKind; description?: string };
  const out = convert(schema);
  if (def.description && out.description === undefined) out.description = def.description;
  return out;
}

function convert(schema: z.ZodTypeAny): Json {
  const def = schema._def as Record<string, any>;
  switch (def.typeName as z.ZodFirstPartyTypeKind) {
    case z.ZodFirstPartyTypeKind.ZodString: {
      const s: Json = { type: 'string' };
      for (const c of def.checks ?? []) {
        if (c.kind === 'min') s.minLength = c.value;
        if (c.kind === 'regex') s.pattern = (c.regex as RegExp).source;
      }
      return s;
    }
    case z.ZodFirstPartyTypeKind.ZodNumber:
      return { type: (def.checks ?? []).some((c: { kind: string }) => c.kind === 'int') ? 'integer' : 'number' };
    case z.ZodFirstPartyTypeKind.ZodBoolean:
      return { type: 'boolean' };
    case z.ZodFirstPartyTypeKind.ZodNull:
      return { type: 'null' };
    case z.ZodFirstPartyTypeKind.ZodLiteral:
      return { const: def.value };
    case z.ZodFirstPartyTypeKind.ZodEnum:
      return { enum: def.values };
    case z.ZodFirstPartyTypeKind.ZodUnknown:
    case z.ZodFirstPartyTypeKind.ZodAny:
      return {};
    case z.ZodFirstPartyTypeKind.ZodArray: {
      const a: Json = { type: 'array', items: toJsonSchema(def.type) };
      if (def.minLength) a.minItems = def.minLength.value;
      return a;
    }
    case z.ZodFirstPartyTypeKind.ZodObject: {
      const shape = (schema as z.AnyZodObject).shape as Record<string, z.ZodTypeAny>;
      const properties: Json = {};
      const required: string[] = [];
      for (const [k, v] of Object.entries(shape)) {
        properties[k] = toJsonSchema(v);
        if (!v.isOptional()) required.push(k);
      }
      const o: Json = { type: 'object', properties };
      if (required.length) o.required = required;
      if (def.unknownKeys === 'strict') o.additionalProperties = false;
      return o;
    }
    case z.ZodFirstPartyTypeKind.ZodRecord: {
      const r: Json = { type: 'object', additionalProperties: toJsonSchema(def.valueType) };
      const keys = convert(def.keyType);
      if (keys.pattern) r.propertyNames = { pattern: keys.pattern };
      return r;
    }
    case z.ZodFirstPartyTypeKind.ZodUnion:
      return { anyOf: (def.options as z.ZodTypeAny[]).map(toJsonSchema) };
    case z.ZodFirstPartyTypeKind.ZodOptional:
      return toJsonSchema(def.innerType);
    case z.ZodFirstPartyTypeKind.ZodDefault:
      return { ...toJsonSchema(def.innerType), default: def.defaultValue() };
    case z.ZodFirstPartyTypeKind.ZodNullable:
      return { anyOf: [toJsonSchema(def.innerType), { type: 'null' }] };
    case z.ZodFirstPartyTypeKind.ZodEffects:
      return toJsonSchema(def.schema);
    default:
      return {};
  }
}

/** The published JSON Schema of mlo.yaml. */
export function pipelineJsonSchema(): Json {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'mlo.yaml',
    description: 'mlo pipeline stages (see docs/pipelines.md)',
    ...toJsonSchema(pipelineSchema),
  };
}
