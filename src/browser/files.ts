// Text from what a user gives a page: a dropped or chosen file, decoded as
// strict UTF-8 by src/text's decoder (an empty, binary or non-UTF-8 file
// throws a CharrnnError naming it).
import { decodeText } from '../text/utf8.js';

/** A file as a browser gives it (File), or anything with a name and bytes. */
export interface NamedBlob {
  readonly name: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** The text of a file; throws a CharrnnError with one sentence when it is not text. */
export async function readTextFile(file: NamedBlob): Promise<string> {
  return decodeText(new Uint8Array(await file.arrayBuffer()), file.name);
}

/** The bytes of a file (a model file to load). */
export async function readBytes(file: NamedBlob): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}
