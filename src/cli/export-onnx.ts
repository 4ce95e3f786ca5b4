import { Command } from 'commander';
import type { CliIo } from './io.js';
import { action, type ExitStatus } from './action.js';

interface ExportOnnxFlags {
  to?: string;
}

export function exportOnnxCommand(io: CliIo, status: ExitStatus): Command {
  return new Command('export-onnx')
    .description(
      'write a model as an ONNX file (standard LSTM, GRU and RNN operators, the vocabulary in its metadata) for ONNX Runtime and any other ONNX runtime',
    )
    .argument('<model>', 'a model file written by charrnn train (.safetensors)')
    .option('--to <file>', 'where the ONNX file goes (default: MODEL with .onnx for .safetensors)')
    .action(action(status, (model: string, flags: ExportOnnxFlags) => exportOnnxAction(io, model, flags)));
}

async function exportOnnxAction(io: CliIo, model: string, flags: ExportOnnxFlags): Promise<void> {
  const [{ exportOnnx }, { ONNX_OPSET }] = await Promise.all([import('../node/onnx-file.js'), import('../export/onnx-graph.js')]);
  const r = exportOnnx(model, flags.to);
  const { cell, layers, hidden } = r.config;
  io.stdout.write(
    `wrote ${r.path} (${r.bytes.toLocaleString('en')} bytes): ${cell}, ${layers} layer${layers === 1 ? '' : 's'} of ${hidden} units, ` +
      `${r.characters} characters${r.lineModel ? ', a line model' : ''}; ONNX opset ${ONNX_OPSET}.\n`,
  );
}
