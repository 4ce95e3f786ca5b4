import { z } from 'zod';
import type { CellType } from '../kernels/kernels.js';

/**
 * The architecture of a model: everything needed to rebuild it from its
 * weights. The one check of a config: the model's constructor, the model file
 * and the training checkpoint all go through it. A new field is one line here
 * (optional, so that files written before it still load).
 */
export const modelConfigSchema = z.strictObject({
  /** The recurrent cell of every layer: lstm, gru or rnn (tanh). */
  cell: z.enum(['lstm', 'gru', 'rnn'] as const satisfies readonly CellType[]),
  /** Number of stacked recurrent layers. */
  layers: z.number().int().min(1),
  /** Hidden units per recurrent layer. */
  hidden: z.number().int().min(1),
  /** Embedding size. */
  emb: z.number().int().min(1),
  /** Vocabulary size (output classes). */
  vocabSize: z.number().int().min(1),
  /** Dropout probability after each recurrent layer while training (0 disables it). */
  dropout: z.number().min(0).lt(1),
  /**
   * Dropout on the embedding's output while training (0 or absent: none). A
   * training setting only: model files do not carry it (no weights depend on it).
   */
  embDropout: z.number().min(0).lt(1).optional(),
});

/**
 * A model's architecture: the cell type, layers × hidden units, the
 * embedding size, the vocabulary size, and dropout. Stored in the model file;
 * a model built from it has exactly the weights it describes.
 *
 * @useDeclaredType
 */
export type ModelConfig = z.infer<typeof modelConfigSchema>;

/** What is wrong with a config, as a clause ("config.layers is invalid (…)"), or null when nothing is. */
export function modelConfigProblem(value: unknown): string | null {
  const parsed = modelConfigSchema.safeParse(value);
  if (parsed.success) return null;
  const issue = parsed.error.issues[0];
  return `config${issue.path.map(p => `.${String(p)}`).join('')} is invalid (${issue.message.replace(/\.$/, '')})`;
}

/** The architecture `charrnn train` uses when none is given: a 2-layer LSTM of 128 hidden units, 64-wide embedding, no dropout. */
export const DEFAULT_MODEL: Omit<ModelConfig, 'vocabSize'> = { cell: 'lstm', layers: 2, hidden: 128, emb: 64, dropout: 0 };
