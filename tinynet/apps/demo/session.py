"""DemoSession: the live demo's state and controls, with no display at all.

One stacked model holds a copy of the network per rate, all from the same
initial weights; every epoch all copies see the same batches in the same order,
so what differs between them is the rate alone. The window, the notebook and
the GIF writer are thin layers that call these methods and draw what they hold:

    session = DemoSession("0.01,0.1,0.5", dataset="spirals", spares=2)
    session.step()                       # one epoch for every running copy
    session.set_rate(1, 0.03)            # copy B's next update uses 0.03
    j = session.fork(1, rate=0.3)        # a free copy takes B's weights and state
    session.run(10)                      # ten more epochs: B and its fork part ways
"""

import math
import warnings

import numpy as np

import tinynet as tn
from tinynet import _checks
from tinynet.apps.demo.setup import (
    DEFAULT_RATES,
    MAX_COPIES,
    SCHEDULES,
    build,
    make_dataset,
    make_schedule,
    parse_rates,
)
from tinynet.plot.palette import COPY_NAMES
from tinynet.plot.regions import grid

STUCK_AFTER = 5  # epochs a copy trains before it can be called stuck
STUCK_MARGIN = 0.05  # stuck: accuracy within this of chance (1 / classes), or one class
GREW = 4.0  # "grew": loss above GREW x its best and its first loss (marked; training goes on)


class _Hold(tn.callbacks.Callback):
    """Keeps the copies in ``mask`` frozen for a whole fit call (fit clears model.frozen)."""

    def __init__(self, mask):
        self.mask = mask

    def on_train_begin(self):
        if np.any(self.mask):
            self.model.freeze(self.mask)


class DemoSession:
    """Several rates training side by side, controlled by method calls.

    rates: a comma-separated string or a list of floats (1 to 6). dataset: one of
    DATASETS; optimizer: one of OPTIMIZERS; schedule: one of SCHEDULES, scaled to
    each rate. epochs: the planned run (the window pauses there; ``step`` may go
    on). spares: free copies kept in the stack for ``fork`` (len(rates) + spares
    <= 6). grid_size: points per side of the decision-region grid.

    What a display reads (copy k is COPY_NAMES[k], column k of every array):
    rates (current base rate per copy), active (drawn and training), born (epoch
    a copy starts being drawn, None for a free copy), parent ((copy, epoch) a
    fork came from), loss and accuracy ((epoch + 1, K) arrays, row e = after e
    epochs, NaN where a copy was not running), diverged / diverged_epoch (the
    loss went NaN/inf: nothing more can happen, the copy stops), grew /
    grew_epoch (the loss rose past GREW x its best: marked, it trains on, as
    fit observes), stuck (and stuck_reason: '1 class' or 'chance'), rate_changes
    [(copy, epoch, rate)], selected, paused, epoch.
    """

    def __init__(self, rates=DEFAULT_RATES, dataset="spirals", optimizer="sgd",
                 schedule="constant", epochs=60, batch_size=32, seed=0, spares=0, grid_size=60):
        rates = parse_rates(rates)
        self.epochs = self._plan = _checks.positive_int(epochs, "epochs", "demo")
        self.batch_size = _checks.positive_int(batch_size, "batch_size", "demo")
        spares = _checks.nonneg_int(spares, "spares", "demo")
        if len(rates) + spares > MAX_COPIES:
            raise ValueError(f"demo: {len(rates)} rates + {spares} spare copies is more than "
                             f"{MAX_COPIES}; give fewer rates or fewer spares.")
        _checks.choice(schedule, "schedule", "demo", SCHEDULES)
        self.dataset, self.optimizer_name, self.schedule = dataset, optimizer, schedule
        self.x, self.y, self.n_classes = make_dataset(dataset, seed)
        self.total_steps = self.epochs * math.ceil(self.x.shape[0] / self.batch_size)
        k = max(len(rates) + spares, 2)  # one rate alone: a silent spare keeps the stack
        self.n_copies = k
        self.rates = rates + [rates[-1]] * (k - len(rates))
        self._plan_start = 0  # the update the schedules' current plan began at
        self._lrs = [self._schedule_for(r) for r in self.rates]
        self.model = build(k, self.n_classes, optimizer, self._lrs, seed)
        self.active = np.arange(k) < len(rates)
        self.born = [0 if a else None for a in self.active]
        self.parent = [None] * k
        self.diverged = np.zeros(k, dtype=bool)
        self.diverged_epoch = np.full(k, -1)
        self.grew = np.zeros(k, dtype=bool)
        self.grew_epoch = np.full(k, -1)
        self.stuck = np.zeros(k, dtype=bool)
        self.stuck_reason = [""] * k
        self.rate_changes = []
        self.selected = 0
        self.paused = False
        self.epoch = 0
        self._order_rng = np.random.default_rng((seed, 7))  # one batch order for all copies
        self.grid = grid(self.x, n=grid_size, pad=0.15)
        self._loss, self._acc = [], []
        self._classes = None
        self._first = self._best = None
        self._measure()

    # --- what displays read -------------------------------------------------------
    @property
    def loss(self):
        """(epoch + 1, K) training-set loss after each epoch (row 0: the initial weights)."""
        return np.array(self._loss)

    @property
    def accuracy(self):
        """(epoch + 1, K) training-set accuracy after each epoch."""
        return np.array(self._acc)

    @property
    def running(self):
        """(K,) bool: copies that train in the next epoch (active and not diverged)."""
        return self.active & ~self.diverged

    @property
    def done(self):
        return self.epoch >= self.epochs

    @property
    def free_copies(self):
        return [k for k in range(self.n_copies) if not self.active[k]]

    def state(self, k):
        """Copy k's mark, the first that applies: 'free', 'diverged', 'stuck', 'grew' or ''."""
        marks = (("free", not self.active[k]), ("diverged", self.diverged[k]),
                 ("stuck", self.stuck[k]), ("grew", self.grew[k]))
        return next((name for name, on in marks if on), "")

    def label(self, k):
        """'B  lr 0.05', 'B  lr 0.05 (diverged)' or 'E  (free)'."""
        state = self.state(k)
        if state == "free":
            return f"{COPY_NAMES[k]}  (free)"
        return f"{COPY_NAMES[k]}  lr {self.rates[k]:.3g}" + (f" ({state})" if state else "")

    def region_classes(self):
        """(K, grid points) predicted class of every copy on the region grid (cached per epoch)."""
        if self._classes is None or self._classes[0] != self.epoch:
            with np.errstate(all="ignore"):
                out = self.model.predict(self.grid[2], batch_size=4096)
            self._classes = (self.epoch, np.argmax(out, axis=-1))
        return self._classes[1]

    # --- controls -----------------------------------------------------------------
    def step(self):
        """Train every running copy for one epoch on the same shuffled batches."""
        hold = ~self.running
        if np.all(hold):
            raise ValueError("demo: no copy is running (all diverged or free); fork a "
                             "healthy copy or start again with smaller rates.")
        order = self._order_rng.permutation(self.x.shape[0])
        with warnings.catch_warnings():  # a diverging copy is part of the show
            warnings.simplefilter("ignore", RuntimeWarning)
            self.model.fit(self.x[order], self.y[order], epochs=1, batch_size=self.batch_size,
                           shuffle=False, verbose=0, callbacks=[_Hold(hold)])
        self.epoch += 1
        self._measure()
        return self

    def run(self, n):
        """``step`` n times (whether paused or not); stops early if no copy is left running."""
        for _ in range(_checks.positive_int(n, "n", "demo")):
            if not self.running.any():
                break
            self.step()
        return self

    def advance(self):
        """What a timer calls: one epoch unless paused or done; True when it trained."""
        if self.paused or self.done or not self.running.any():
            return False
        self.step()
        return True

    def pause(self):
        self.paused = True

    def resume(self):
        """Go on training; at the end of the planned run, plan as many epochs again.

        The schedules plan again with it: a decaying one (cosine ends at 0) starts
        over from each copy's rate at this update, over the new epochs, so the
        training that goes on is not frozen at the old plan's final rate.
        """
        if self.done:
            self.epochs = self.epoch + self._plan
            self._plan_start = self.model.optimizer.iterations
            self.total_steps = self._plan_start + self._plan * self._updates_per_epoch()
            self._lrs = [self._schedule_for(r) for r in self.rates]
            self.model.optimizer.learning_rate = list(self._lrs)
        self.paused = False

    def _updates_per_epoch(self):
        return math.ceil(self.x.shape[0] / self.batch_size)

    def _schedule_for(self, rate):
        """``rate``'s schedule over the current plan (updates _plan_start to total_steps)."""
        plan = make_schedule(self.schedule, rate, self.total_steps - self._plan_start)
        if self._plan_start == 0 or self.schedule == "constant":
            return plan
        return tn.schedules.SequentialSchedule([rate, plan], [self._plan_start])

    def toggle_pause(self):
        (self.resume if self.paused else self.pause)()
        return self.paused

    def set_rate(self, copy, rate):
        """The next update of running copy ``copy`` uses ``rate`` (through the schedule)."""
        copy = self._running(copy, "set_rate")
        rate = parse_rates([rate])[0]
        self.rates[copy] = rate
        self._lrs[copy] = self._schedule_for(rate)
        self.model.optimizer.learning_rate = list(self._lrs)
        self.rate_changes.append((copy, self.epoch, rate))

    def fork(self, source=None, rate=None):
        """Copy the weights and optimiser state of ``source`` into a free copy; returns its index.

        source: a running copy (default: the selected one). rate: the new copy's
        rate (default: the source's). The new copy is drawn from this epoch on
        and becomes the selected one.
        """
        source = self._running(self.selected if source is None else source, "fork")
        rate = self.rates[source] if rate is None else parse_rates([rate])[0]
        free = self.free_copies
        if not free:
            raise ValueError(f"demo: fork needs a free copy, but all {self.n_copies} are in use; "
                             "start with fewer rates or more spares.")
        j = free[0]
        weights = self.model.get_weights()
        for w in weights:
            w[j] = w[source]
        self.model.set_weights(weights)
        opt = self.model.optimizer
        state = opt.get_state()
        for slots in state["slots"] or ():
            for value in slots.values():
                value[j] = value[source]
        if not isinstance(state["lr_scale"], float):
            state["lr_scale"][j] = state["lr_scale"][source]
        opt.set_state(state)
        self.rates[j] = rate
        self._lrs[j] = self._schedule_for(rate)
        opt.learning_rate = list(self._lrs)
        self.active[j] = True
        self.born[j], self.parent[j] = self.epoch, (source, self.epoch)
        self.diverged[j], self.diverged_epoch[j], self.stuck[j] = False, -1, False
        self.grew[j], self.grew_epoch[j] = False, -1
        for values in (self._loss[-1], self._acc[-1], self._first, self._best):
            values[j] = values[source]
        self._classes = None
        self.selected = j
        return j

    def _running(self, copy, owner):
        if isinstance(copy, bool) or not isinstance(copy, (int, np.integer)) \
                or not 0 <= copy < self.n_copies:
            raise ValueError(f"demo: {owner} needs a copy number 0..{self.n_copies - 1}, "
                             f"got {copy!r}.")
        copy = int(copy)
        if not self.active[copy]:
            raise ValueError(f"demo: {owner}: copy {COPY_NAMES[copy]} is free (not training); "
                             "fork a running copy into it first.")
        if self.diverged[copy]:
            raise ValueError(f"demo: {owner}: copy {COPY_NAMES[copy]} diverged in epoch "
                             f"{self.diverged_epoch[copy]}; pick a healthy copy.")
        return copy

    # --- measurements -------------------------------------------------------------
    def _measure(self):
        """Loss, accuracy, divergence and stuck flags of every copy on the whole training set.

        A copy has diverged when its loss is NaN/inf (it stops: nothing more can
        happen). A loss above both GREW x its best and its loss at the start is
        marked "grew" and the copy trains on, as fit does (the rule is applied
        across epochs here, since the session calls fit one epoch at a time).
        """
        with np.errstate(all="ignore"):
            probs = self.model.predict(self.x)  # (K, N, C)
            picked = np.take_along_axis(probs, self.y[None, :, None], axis=-1)[..., 0]
            loss = -np.mean(np.log(np.clip(picked, 1e-7, 1.0)), axis=-1)
            loss = np.where(np.all(np.isfinite(probs), axis=(1, 2)), loss, np.nan)
            predicted = np.argmax(probs, axis=-1)
        acc = np.mean(predicted == self.y[None, :], axis=-1)
        if self._first is None:
            self._first, self._best = loss.copy(), loss.copy()
        running = self.active & ~self.diverged
        with np.errstate(invalid="ignore"):
            grown = (loss > GREW * self._best) & (loss > self._first)
            self._best = np.where(running & np.isfinite(loss), np.fmin(self._best, loss),
                                  self._best)
        new = running & ~np.isfinite(loss)
        self.diverged |= new
        newly_grew = running & np.isfinite(loss) & grown & ~self.grew
        self.grew |= newly_grew
        self.grew_epoch[newly_grew] = self.epoch
        self.diverged_epoch[new] = self.epoch
        chance = 1.0 / self.n_classes
        one_class = np.array([np.unique(p).size == 1 for p in predicted])
        old_enough = np.array([b is not None and self.epoch - b >= STUCK_AFTER
                               for b in self.born])
        self.stuck = (self.active & ~self.diverged & old_enough
                      & (one_class | (acc <= chance + STUCK_MARGIN)))
        self.stuck_reason = ["" if not s else "1 class" if o else "chance"
                             for s, o in zip(self.stuck, one_class)]
        shown = self.active & np.isfinite(loss) & ~(self.diverged & ~new)  # X, then nothing
        self._loss.append(np.where(shown, loss, np.nan))
        self._acc.append(np.where(shown, acc, np.nan))
        self._classes = None
