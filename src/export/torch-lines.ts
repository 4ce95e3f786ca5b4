// Line mode (--lines) in the exported PyTorch program: charrnn's held-out lines
// (src/data/line-examples.ts holdOutLines), its batches of whole padded lines in
// their seeded order (src/data/line-batcher.ts) and its validation on the
// held-out lines (src/train/line-loss.ts), written out in Python with charrnn's
// generator (TORCH_RANDOM), so that PyTorch trains on the same batches in the
// same order and scores the same lines. Platform-neutral: Python text only.

/** The file beside the program holding the metadata entries of a line model (lines, lines_seen) for the model files it saves. */
export const LINE_METADATA_FILE = 'lines.json';

/** The program's line-mode definitions (after TORCH_RANDOM). */
export const TORCH_LINES = String.raw`# ---- Line mode (--lines): every non-empty line is one sequence from a zero state. A line of n
# characters is n + 1 steps: inputs [EOL, c1 .. cn], targets [c1 .. cn, EOL]. A batch is BATCH whole
# lines padded to its longest; a padded step reads EOL and has the target IGNORE, so it adds no loss
# and no gradient (a recurrent step depends on earlier steps only, and padding only follows a line).
# The text file holds every line followed by EOL_ID, as charrnn reads them. ----

IGNORE = -1  # charrnn's IGNORE_TARGET: cross_entropy's ignore_index


class Lines:
    """Encoded lines: line i is ids[starts[i]:starts[i + 1]], without its end-of-line (numpy arrays)."""

    def __init__(self, ids, starts):
        self.ids, self.starts = ids, starts
        self.lengths = starts[1:] - starts[:-1]

    def __len__(self):
        return len(self.lengths)

    def line(self, i):
        return self.ids[self.starts[i]:self.starts[i + 1]]

    @property
    def targets(self):
        """Targets one pass over the lines scores: each line's characters and its end-of-line."""
        return int(self.lengths.sum()) + len(self)


def hold_out_lines(ids):
    """charrnn's split of line mode: whole lines held out at random with the seed (lists are often sorted), every
    copy of a line on the same side; floor(count * VAL_FRAC) lines (whole groups of copies, so possibly a few
    more), at least one when VAL_FRAC > 0 and there are two distinct lines, never every distinct line. Both
    sides keep the text's order. Returns (train, val) as Lines."""
    ids = ids.numpy()
    ends = np.flatnonzero(ids == EOL_ID)
    starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
    keys = [ids[a:b].tobytes() for a, b in zip(starts, ends)]
    copies = {}  # distinct lines in order of first appearance, and their copies
    for k in keys:
        copies[k] = copies.get(k, 0) + 1
    distinct = list(copies)
    wanted = math.floor(len(keys) * VAL_FRAC)
    if VAL_FRAC > 0 and wanted == 0 and len(distinct) >= 2:
        wanted = 1
    order = list(range(len(distinct)))
    shuffle(order, Random(SEED ^ 0x6C696E65))  # 'line': its own stream, apart from the weights' and the batches'
    held, count = set(), 0
    for k in order[:-1]:  # never all of them: training keeps at least one distinct line
        if count >= wanted:
            break
        held.add(distinct[k])
        count += copies[distinct[k]]
    val = np.array([k in held for k in keys], dtype=bool)

    def pick(chosen):
        s, e = starts[chosen], ends[chosen]
        flat = np.concatenate([ids[a:b] for a, b in zip(s, e)] + [np.zeros(0, ids.dtype)])
        return Lines(flat.astype(np.int64), np.concatenate([[0], np.cumsum(e - s)]).astype(np.int64))
    return pick(~val), pick(val)


def line_batch(lines, picked, B):
    """The lines picked as one batch of B sequences, time-major [T, B]: sequence b reads [EOL, chars] and predicts
    [chars, EOL]; steps past its end, and the rows past len(picked), read EOL and have the target IGNORE.
    T is the longest line's length + 1 (charrnn's writeLineBatch)."""
    T = max([int(lines.lengths[i]) for i in picked], default=0) + 1
    x = np.full((T, B), EOL_ID, dtype=np.int64)
    y = np.full((T, B), IGNORE, dtype=np.int64)
    for b, i in enumerate(picked):
        chars = lines.line(i)
        n = len(chars)
        x[1:n + 1, b] = chars
        y[:n, b] = chars
        y[n, b] = EOL_ID
    return torch.from_numpy(x), torch.from_numpy(y)


class LineBatcher:
    """charrnn's batches of lines. Each pass shuffles the lines with the seed and the pass number, sorts them by
    length (stably, so lines of equal length stay in random order), cuts them into batches of BATCH (the first,
    shortest batch takes the remainder) and shuffles the batches. A pass's order depends on (SEED, pass) alone,
    so charrnn's position is the batches handed out (chunks; pos is chunks within the pass). This process trains
    the rows (sequences) 'mine' of every batch."""

    def __init__(self, lines, mine, chunks, device):
        self.lines, self.mine, self.chunks, self.device, self.planned = lines, mine, chunks, device, -1
        self.steps_per_epoch = -(-len(lines) // BATCH)
        self.first_size = len(lines) - (self.steps_per_epoch - 1) * BATCH

    def plan(self, pass_number):
        rng = Random(SEED ^ ((pass_number + 1) * 0x9E3779B9))
        shuffled = list(range(len(self.lines)))
        shuffle(shuffled, rng)
        shuffled = np.array(shuffled, dtype=np.int64)
        self.order = shuffled[np.argsort(self.lines.lengths[shuffled], kind="stable")]
        starts = [0] + [self.first_size + (b - 1) * BATCH for b in range(1, self.steps_per_epoch)]
        shuffle(starts, rng)
        self.batch_starts, self.planned = starts, pass_number

    def next(self):
        """This process's rows of the next batch, [T, BATCH / world] each; True (every batch starts from a zero
        state); and the targets scored in the whole batch, which its mean loss divides by."""
        pass_number = self.chunks // self.steps_per_epoch
        if pass_number != self.planned:
            self.plan(pass_number)
        k = self.batch_starts[self.chunks % self.steps_per_epoch]
        picked = self.order[k:k + (self.first_size if k == 0 else BATCH)]
        x, y = line_batch(self.lines, picked, BATCH)
        self.chunks += 1
        targets = int(self.lines.lengths[picked].sum()) + len(picked)
        return x[:, self.mine].to(self.device), y[:, self.mine].to(self.device), True, targets

    @property
    def pos(self):
        return self.chunks % self.steps_per_epoch

    @property
    def epoch(self):
        return self.chunks / self.steps_per_epoch


@torch.no_grad()
def line_loss(model, lines, device):
    """Mean cross-entropy over the held-out lines (charrnn's lineLossPass): each line from a zero state, BATCH at
    a time in order of length (so that little is padded), every character and end-of-line scored."""
    order = np.argsort(lines.lengths, kind="stable")
    B = max(1, min(BATCH, len(lines)))
    model.eval()
    total = 0.0
    for start in range(0, len(lines), B):
        x, y = line_batch(lines, order[start:start + B], B)
        logits, _ = model(x.to(device))
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1).to(device), ignore_index=IGNORE, reduction="sum").item()
    model.train()
    return total / lines.targets


def read_line_metadata(folder):
    """The entries every model file of a line model carries (lines: its end-of-line; lines_seen: the text's lines,
    for generation's --novel), as export-torch wrote them from charrnn's."""
    path = os.path.join(folder, LINES_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            entries = json.load(f)
        if isinstance(entries, dict) and all(isinstance(entries.get(k), str) for k in ("lines", "lines_seen")):
            return {k: entries[k] for k in ("lines", "lines_seen")}
    except (OSError, ValueError):
        pass
    raise UserError(f"{path} is missing or damaged: keep the {LINES_FILE} that export-torch wrote beside {os.path.basename(__file__)}, or export the run again.")

`;
