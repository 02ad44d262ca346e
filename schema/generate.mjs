#!/usr/bin/env node
// Regenerates schema/mlo.schema.json from the zod schema of mlo.yaml (run `npm run build` first).
// A test fails when the committed file and the zod schema disagree.
import { writeFileSync } from 'node:fs';

const { pipelineJsonSchema } = await import('../dist/core/pipeline/jsonschema.js');
const file = new URL('./mlo.schema.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${file.pathname}\n`);
