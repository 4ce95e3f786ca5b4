// An ONNX model's bytes, encoded by protobufjs against ONNX's own schema
// (src/export/onnx/onnx.proto, passed in as text so that this stays
// platform-neutral: Node reads the file, a page could bundle it).
import protobuf from 'protobufjs';
import type { OnnxModel } from './onnx-graph.js';

const parsed = new Map<string, protobuf.Type>();

/** ModelProto of an onnx.proto text, parsed once per text. */
function modelProto(schema: string): protobuf.Type {
  let type = parsed.get(schema);
  if (type === undefined) {
    type = protobuf.parse(schema, { keepCase: true }).root.lookupType('onnx.ModelProto');
    parsed.set(schema, type);
  }
  return type;
}

/** The bytes of an ONNX file holding `model`, with `schema` the text of onnx.proto. */
export function encodeOnnx(model: OnnxModel, schema: string): Uint8Array {
  const type = modelProto(schema);
  // protobufjs checks the types of the fields it knows and drops the others without a word: a misspelt field is found here.
  const unknown = unknownField(type, model, 'ModelProto');
  const problem = unknown ?? type.verify(model);
  if (problem !== null) throw new Error(`the ONNX model does not match onnx.proto: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/** The path of the first key of `value` (or of a message within it) that `type` has no field for, or null. */
function unknownField(type: protobuf.Type, value: object, path: string): string | null {
  for (const [key, v] of Object.entries(value)) {
    const field = type.fields[key];
    if (field === undefined) return `${path}.${key} is not a field of ${type.name}`;
    const resolved = field.resolve().resolvedType;
    if (!(resolved instanceof protobuf.Type)) continue;
    const items: unknown[] = field.repeated ? (v as unknown[]) : [v];
    for (const [i, item] of items.entries()) {
      const where = field.repeated ? `${path}.${key}[${i}]` : `${path}.${key}`;
      const problem = typeof item === 'object' && item !== null ? unknownField(resolved, item, where) : null;
      if (problem !== null) return problem;
    }
  }
  return null;
}
