// The page's "Start from" choice in Train: a new model (the size chosen below
// it), a base model the server ships (GET base-models/, then its file), or a
// model file opened here. A starting model makes the run a fine-tune of it: its
// size is kept (the size buttons are put aside) and the recipe plans the rest.
import { CharrnnError, readBytes, startingModel } from '../src/browser/index.js';

/** The model a fine-tune starts from, as the training worker takes it. */
export interface StartingPoint {
  bytes: Uint8Array;
  name: string;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

/**
 * Wires the Start-from select, its file input and its line of information;
 * returns what the Train button asks for: the chosen starting model, or null
 * for a new model. It throws a one-sentence Error while a choice is not ready
 * (a base model still loading, a file not opened yet).
 */
export function setUpStartFrom(showError: (error: unknown | null) => void): () => StartingPoint | null {
  const select = $<HTMLSelectElement>('start-from');
  const fileInput = $<HTMLInputElement>('start-file');
  const info = $('start-info');
  let chosen: StartingPoint | null = null;
  let loading: string | null = null;

  const sizeButtons = (): HTMLInputElement[] => [...document.querySelectorAll<HTMLInputElement>('input[name="size"]')];
  const take = (bytes: Uint8Array, name: string): void => {
    try {
      const c = startingModel(bytes, name).model.config;
      chosen = { bytes, name };
      info.textContent = `${name}: ${c.cell.toUpperCase()} ${c.layers}×${c.hidden}, ${c.vocabSize} characters · the run fine-tunes it (its size is kept)`;
      for (const b of sizeButtons()) b.disabled = true;
    } catch (e) {
      chosen = null;
      info.textContent = '';
      showError(e);
    }
  };

  // The base models, when the page is served by `charrnn serve` (a static host has none).
  void fetch('base-models/')
    .then(r => (r.ok ? (r.json() as Promise<{ models?: string[] }>) : { models: [] }))
    .then(({ models }) => {
      for (const name of models ?? []) {
        const option = document.createElement('option');
        option.value = `base:${name}`;
        option.textContent = `the base model ${name}`;
        select.insertBefore(option, select.querySelector('option[value="file"]'));
      }
    })
    .catch(() => {});

  select.addEventListener('change', async () => {
    showError(null);
    chosen = null;
    loading = null;
    info.textContent = '';
    for (const b of sizeButtons()) b.disabled = false;
    const value = select.value;
    if (value === 'file') {
      fileInput.click();
    } else if (value.startsWith('base:')) {
      const name = value.slice('base:'.length);
      loading = name;
      info.textContent = `loading the base model ${name}…`;
      try {
        const response = await fetch(`base-models/${encodeURIComponent(name)}.safetensors`);
        if (!response.ok) throw new CharrnnError(`The server has no base model ${name} (it answered ${response.status}).`);
        const bytes = new Uint8Array(await response.arrayBuffer());
        if (loading === name) take(bytes, name);
      } catch (e) {
        if (loading === name) {
          info.textContent = '';
          showError(e instanceof TypeError ? new CharrnnError(`Could not fetch the base model ${name} (${e.message}).`) : e);
        }
      } finally {
        if (loading === name) loading = null;
      }
    }
  });

  fileInput.addEventListener('change', async () => {
    const file = fileInput.files?.[0];
    fileInput.value = '';
    if (file) take(await readBytes(file), file.name);
  });

  return () => {
    if (loading !== null) throw new CharrnnError(`The base model ${loading} is still loading; train again in a moment.`);
    if (select.value === 'file' && chosen === null)
      throw new CharrnnError('Open the model file to start from, or choose another starting point.');
    return chosen;
  };
}
