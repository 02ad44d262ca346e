/**
 * The protobuf wire-format writer that builds tiny ONNX models for tests and benchmarks; the product
 * only reads protobuf (src/core/model/protobuf.ts).
 */
import { WIRE_FIXED32, WIRE_LEN, WIRE_VARINT } from '../../src/core/model/protobuf.js';

/** Builds one message. Nested messages are written by passing another Writer's bytes. */
export class Writer {
  private chunks: number[] = [];

  private varint(n: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(n));
    while (v >= 0x80n) {
      this.chunks.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.chunks.push(Number(v));
  }

  private key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  int(field: number, n: number | bigint): this {
    this.key(field, WIRE_VARINT);
    this.varint(n);
    return this;
  }

  float(field: number, x: number): this {
    this.key(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    this.chunks.push(...b);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.key(field, WIRE_LEN);
    this.varint(data.length);
    for (let i = 0; i < data.length; i++) this.chunks.push(data[i]);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }

  /** A packed repeated varint field. */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new Writer();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}
