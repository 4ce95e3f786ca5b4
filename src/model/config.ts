import type { CellType } from '../kernels/kernels.js';

/** The architecture of a model: everything needed to rebuild it from its weights. */
export interface ModelConfig {
  cell: CellType;
  /** Number of stacked recurrent layers. */
  layers: number;
  /** Hidden units per recurrent layer. */
  hidden: number;
  /** Embedding size. */
  emb: number;
  /** Vocabulary size (output classes). */
  vocabSize: number;
  /** Dropout probability after each recurrent layer while training (0 disables it). */
  dropout: number;
  /**
   * Dropout on the embedding's output while training (0 or absent: none). A
   * training setting only: model files do not carry it (no weights depend on it).
   */
  embDropout?: number;
}

export const DEFAULT_MODEL: Omit<ModelConfig, 'vocabSize'> = { cell: 'lstm', layers: 2, hidden: 128, emb: 64, dropout: 0 };
