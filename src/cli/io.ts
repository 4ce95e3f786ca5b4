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
  /**
   * Set once a write has failed (Node's Writable sets it at once, as the write
   * to a pipe whose reader has gone fails, before its 'error' event can run):
   * a command that writes as it works stops there.
   */
  readonly errored?: unknown;
  /** Set once the writer is closed: nothing written now is read. */
  readonly destroyed?: boolean;
}

/** Whether what is written to `writer` can no longer be read (`charrnn sample | head` after head has ended). */
export function writerClosed(writer: CliWriter): boolean {
  return writer.destroyed === true || (writer.errored !== undefined && writer.errored !== null);
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
