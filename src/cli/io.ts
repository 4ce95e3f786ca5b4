// What a command talks to: the real process when charrnn runs as a program
// (main.ts), or writers a caller provides when the CLI runs inside another
// program (tests call runCli in-process). Commands never reach past it for
// output, standard input, the environment or signals.

/** Somewhere text goes: a stream, or anything that collects it. */
export interface CliWriter {
  write(text: string): unknown;
  /** Set where the writer is a terminal: training shows its live bar there. */
  isTTY?: boolean;
  columns?: number;
}

/** The real process's signals, given only when the CLI is that process. */
export interface CliSignals {
  /** Calls `handler` on SIGINT, SIGTERM and SIGHUP until the returned function is called. */
  listen(handler: (signal: NodeJS.Signals) => void): () => void;
  /** Ends the process at once with this code (a second signal during training). */
  quit(code: number): never;
}

export interface CliIo {
  stdout: CliWriter;
  stderr: CliWriter;
  /** Standard input, for `-` as a file. */
  stdin?: AsyncIterable<Uint8Array>;
  /** CHARRNN_DEBUG, CHARRNN_TOKEN, CHARRNN_BACKEND, CHARRNN_PYTHON are read here. */
  env: NodeJS.ProcessEnv;
  signals?: CliSignals;
}
