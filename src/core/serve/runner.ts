/**
 * One loaded model version and its adaptive micro-batcher. onnxruntime-node runs a session on the main
 * thread, so while one run is in progress the requests that arrive queue up; the next run takes all of
 * them at once, concatenated along the batch dimension when every input and output has a free first
 * dimension, and the outputs are split back per request (as views, without copying). Under light load a
 * request runs alone and waits for nothing.
 */
import * as ort from 'onnxruntime-node';
import type { Feeds, Signature } from '../model/codec.js';
import { allocate, isFreeDim, ortReason, type TensorValue, type TypedArray } from '../model/runtime.js';

export type Outputs = Record<string, TensorValue>;

interface Pending {
  feeds: Feeds;
  rows: number;
  resolve: (o: Outputs) => void;
  reject: (e: Error) => void;
}

export class RunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunError';
  }
}

export interface RunnerOptions {
  /** Most rows one run may take (default 64). */
  maxBatch?: number;
  onBatch?: (rows: number) => void;
}

export class Runner {
  readonly batchable: boolean;
  private queue: Pending[] = [];
  private busy = false;
  private inflight = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly maxBatch: number;
  private readonly outputNames: string[];

  constructor(
    readonly session: ort.InferenceSession,
    readonly signature: Signature,
    private readonly options: RunnerOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 64;
    const free = (s: { shape?: unknown[] }) => Array.isArray(s.shape) && s.shape.length > 0 && isFreeDim(s.shape[0] as never);
    this.batchable =
      signature.inputs.length > 0 && signature.inputs.every(free) && signature.outputs.every(free) && signature.inputs.every((i) => i.type !== 'string');
    this.outputNames = signature.outputs.map((o) => o.name);
  }

  infer(feeds: Feeds): Promise<Outputs> {
    this.inflight++;
    const first = feeds[this.signature.inputs[0]?.name];
    const rows = this.batchable && first ? first.dims[0] : 1;
    return new Promise<Outputs>((resolve, reject) => {
      this.queue.push({
        feeds,
        rows,
        resolve: (o) => {
          this.settled();
          resolve(o);
        },
        reject: (e) => {
          this.settled();
          reject(e);
        },
      });
      // Start at once when idle: onnxruntime-node itself defers the run to the next loop turn
      // (setImmediate), so requests parsed in the same I/O phase still queue up behind it and join the
      // next batch.
      if (!this.busy) void this.drain();
    });
  }

  private settled(): void {
    if (--this.inflight === 0 && this.idleWaiters.length) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when no request is queued or running. */
  idle(): Promise<void> {
    return this.inflight === 0 ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  async release(): Promise<void> {
    await this.idle();
    await this.session.release();
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.take();
        if (batch.length === 1) await this.runOne(batch[0]);
        else await this.runBatch(batch);
      }
    } finally {
      this.busy = false;
    }
  }

  private take(): Pending[] {
    if (!this.batchable) return [this.queue.shift()!];
    let rows = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || rows + this.queue[n].rows <= this.maxBatch)) rows += this.queue[n++].rows;
    return this.queue.splice(0, n);
  }

  private async run(feeds: Feeds, rows: number): Promise<Outputs> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name in feeds) {
      const t = feeds[name];
      ortFeeds[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
    }
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run(ortFeeds);
    } catch (err) {
      throw new RunError(ortReason(err));
    }
    this.options.onBatch?.(rows);
    const result: Outputs = {};
    for (const name of this.outputNames) {
      const t = out[name] as ort.Tensor;
      result[name] = { type: t.type, data: t.data as TypedArray, dims: t.dims as number[] };
    }
    return result;
  }

  private async runOne(p: Pending): Promise<void> {
    try {
      p.resolve(await this.run(p.feeds, p.rows));
    } catch (err) {
      p.reject(err as Error);
    }
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    const merged = this.concat(batch);
    if (!merged) {
      for (const p of batch) await this.runOne(p);
      return;
    }
    let out: Outputs;
    try {
      out = await this.run(merged.feeds, merged.rows);
    } catch {
      // One request may be what breaks the run: run them one by one so only that one fails.
      for (const p of batch) await this.runOne(p);
      return;
    }
    for (const name of this.outputNames) {
      if (out[name].dims[0] !== merged.rows) {
        for (const p of batch) await this.runOne(p);
        return;
      }
    }
    let offset = 0;
    for (const p of batch) {
      const part: Outputs = {};
      for (const name of this.outputNames) {
        const t = out[name];
        const inner = t.data.length / merged.rows;
        const data = (t.data as TypedArray).subarray(offset * inner, (offset + p.rows) * inner);
        part[name] = { type: t.type, data, dims: [p.rows, ...t.dims.slice(1)] };
      }
      offset += p.rows;
      p.resolve(part);
    }
  }

  /** Concatenates requests along dimension 0, or undefined when their other dimensions differ. */
  private concat(batch: Pending[]): { feeds: Feeds; rows: number } | undefined {
    let rows = 0;
    for (const p of batch) rows += p.rows;
    const feeds: Feeds = {};
    for (const spec of this.signature.inputs) {
      const first = batch[0].feeds[spec.name];
      const tail = first.dims.slice(1);
      let total = 0;
      for (const p of batch) {
        const t = p.feeds[spec.name];
        if (t.dims.length !== first.dims.length || t.dims[0] !== p.rows) return undefined;
        for (let i = 1; i < t.dims.length; i++) if (t.dims[i] !== tail[i - 1]) return undefined;
        total += t.data.length;
      }
      const data = allocate(first.type, total);
      let at = 0;
      for (const p of batch) {
        const src = p.feeds[spec.name].data as TypedArray;
        (data as Float32Array).set(src as Float32Array, at);
        at += src.length;
      }
      feeds[spec.name] = { type: first.type, data, dims: [rows, ...tail] };
    }
    return { feeds, rows };
  }
}
