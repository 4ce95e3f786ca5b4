// Text from what a user gives a page: a dropped or chosen file, decoded by
// src/text's decoder (UTF-8, or UTF-16 by its byte order mark); an empty,
// binary or undecodable file throws a CharrnnError naming it.
import { decodeText } from '../text/decoder.js';

/** A file as a browser gives it (File), or anything with a name and bytes. */
export interface NamedBlob {
  readonly name: string;
  /** The file's bytes, as File.arrayBuffer gives them. */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** The text of a file (as `charrnn train` reads one); throws a CharrnnError with one sentence when it is not text. */
export async function readTextFile(file: NamedBlob): Promise<string> {
  return decodeText(new Uint8Array(await file.arrayBuffer()), file.name);
}

/** The bytes of a file (a model file to load). */
export async function readBytes(file: NamedBlob): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}
