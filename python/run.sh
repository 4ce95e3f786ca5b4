#!/bin/sh
# Continues the charrnn run under torchrun on this machine: NPROC processes (one
# per GPU with NCCL, or CPU processes with gloo) of train_torch.py beside this
# file, which gets the arguments after NPROC.
#
#   run.sh NPROC [--resume RUN_DIR] [--steps TOTAL] [--minutes M] ...
#
# torchrun is the one on the PATH, else PyTorch's module through python3. Set
# CHARRNN_PYTHON to launch through another python3 (one with PyTorch), and
# CHARRNN_TORCHRUN_OPTIONS to give torchrun more of its own options (e.g.
# "--log_dir DIR"). Across machines, call torchrun itself (see docs/pytorch.md).
set -eu

usage="usage: $0 NPROC [train_torch.py options...] (NPROC: processes on this machine, e.g. one per GPU)"
if [ $# -lt 1 ]; then
  echo "$usage" >&2
  exit 2
fi
case $1 in
  '' | *[!0-9]* | 0 | 0*)
    echo "$0: NPROC must be a whole number of processes, 1 or more, not \"$1\"; $usage" >&2
    exit 2
    ;;
esac
nproc=$1
shift
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)

# torchrun's defaults, --redirects 0 and --tee 0, do not parse in PyTorch 1.13 under
# Python 3.11 (Debian 12's): it stops with "'NoneType' object has no attribute 'get'".
# A mapping for local rank 9 parses in every version and redirects nothing for fewer
# than 10 processes; with more, rank 9's output is also kept in torchrun's log folder,
# and still shown.
set -f # the options below are split into words, never globbed
options="--standalone --nproc_per_node $nproc --redirects 9:1 --tee 9:1 ${CHARRNN_TORCHRUN_OPTIONS:-}"
if [ -n "${CHARRNN_PYTHON:-}" ]; then
  exec "$CHARRNN_PYTHON" -m torch.distributed.run $options "$here/train_torch.py" "$@"
elif command -v torchrun >/dev/null 2>&1; then
  exec torchrun $options "$here/train_torch.py" "$@"
else
  exec python3 -m torch.distributed.run $options "$here/train_torch.py" "$@"
fi
