// Writes a model file in half precision (safetensors dtype F16): the same
// model in half the bytes, for the base models charrnn ships. Every reader of
// charrnn widens the weights back to float32 as it loads them; a weight
// changes by at most one part in 2048. The metadata is kept as it is.
// Usage (after npm run build): node scripts/base-model/half.mjs IN.safetensors OUT.safetensors
import { readFileSync, writeFileSync } from 'node:fs';
import { decodeModel, encodeSafetensors, parameterSpecs } from '../../dist/src/engine.js';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node scripts/base-model/half.mjs IN.safetensors OUT.safetensors');
  process.exit(2);
}
const bytes = readFileSync(input);
// decodeModel checks the file, and reads a checkpoint as its model (the moving average where the run kept one).
const { config, tensors, metadata } = decodeModel(bytes, input);
const named = parameterSpecs(config).map(s => ({ name: s.name, shape: s.shape, data: tensors.get(s.name).data }));
const format = metadata.format === 'charrnn-checkpoint/1' ? 'charrnn/1' : metadata.format;
const kept = Object.fromEntries(Object.entries(metadata).filter(([k]) => k !== 'training' || format === metadata.format));
const half = encodeSafetensors(named, { ...kept, format }, 'F16');
writeFileSync(output, half);
let worst = 0;
const back = decodeModel(half, output).tensors;
for (const t of named) {
  const b = back.get(t.name).data;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(b[i] - t.data[i]) / Math.max(Math.abs(t.data[i]), 2 ** -14));
}
console.error(
  `wrote ${output}: ${half.length.toLocaleString('en')} bytes (from ${bytes.length.toLocaleString('en')}); largest relative change of a weight ${worst.toExponential(2)}`,
);
