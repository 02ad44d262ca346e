import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { usageError } from '../../base/errors.js';
import { predictFile } from '../../core/model/predict.js';
import { resolveSource } from '../../core/serve/sources.js';
import type { ActionContext } from '../action.js';

export interface PredictOpts {
  input: string;
  output: string;
  batchSize: number;
  columns?: string;
}

export async function predict({ out, flags, opts }: ActionContext<PredictOpts>, model: string): Promise<void> {
  if (opts.batchSize < 1) throw usageError('--batch-size must be at least 1');
  // A model file needs no repository: skip loading its config (zod, yaml) to start faster.
  let repo;
  if (!existsSync(resolve(flags.cwd, model))) {
    const { commandRepo } = await import('../repo.js');
    repo = commandRepo(flags, { optional: true });
  }
  const resolved = await resolveSource(model, { cwd: flags.cwd, repo });
  const progress = rowProgress(flags.quiet || !process.stderr.isTTY);
  let result;
  try {
    result = await predictFile({
      cwd: flags.cwd,
      model: { bytes: resolved.bytes, signature: resolved.signature, label: resolved.version === null ? model : `${resolved.name}@${resolved.version}` },
      input: opts.input,
      output: opts.output,
      batchSize: opts.batchSize,
      columns: opts.columns
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      onProgress: progress.update,
    });
  } finally {
    progress.done();
  }
  const r = result;
  for (const w of r.warnings) out.warn(w);
  if (r.ignored.length > 0) out.info(`note: ignored the columns ${r.ignored.join(', ')} of ${opts.input}: not features of the model`);
  out.result(r, () => [
    `Wrote ${r.rows} predictions to ${r.output} in ${r.seconds.toFixed(2)}s (${Math.round(r.rows / Math.max(r.seconds, 1e-9))} rows/s)`,
    ...Object.entries(r.inputs).map(([k, cols]) => `  ${k} <- ${cols.join(', ')}`),
  ]);
}

/** `predict: 120000 rows  45000 rows/s` on stderr, redrawn at most 10 times a second, only on a TTY. */
function rowProgress(silent: boolean): { update(rows: number): void; done(): void } {
  if (silent) return { update() {}, done() {} };
  const started = Date.now();
  let last = 0;
  let drawn = false;
  return {
    update(rows) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      drawn = true;
      const rate = Math.round(rows / Math.max((now - started) / 1000, 0.001));
      process.stderr.write(`\r\x1b[Kpredict: ${rows} rows  ${rate} rows/s`);
    },
    done() {
      if (drawn) process.stderr.write('\r\x1b[K');
    },
  };
}
