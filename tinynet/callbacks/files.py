"""Callbacks that write files: the best model (ModelCheckpoint) and a CSV log (CSVLogger)."""

import csv
import io
import os

import numpy as np

from tinynet import _checks, _files
from tinynet.callbacks.base import Callback, _Monitor

MAX_APPEND_BYTES = 64 * 1024**2  # what CSVLogger(append=True) reads back: ~10**6 rows


class ModelCheckpoint(_Monitor):
    """Save the model after every epoch, or only when ``monitor`` improves (Keras).

    filepath: where ``model.save`` writes (tinynet's .npz, atomically; a missing
      folder is created, as Keras does). It may hold Keras's fields, filled with
      epoch + 1 and the epoch's logs: "ckpt-{epoch:02d}-{val_loss:.2f}.npz".
      A suffix of another library's format (.h5, .keras, ...) is refused.
    monitor="val_loss", mode="auto" ("max" for accuracy-like names, else "min"),
    save_best_only=False: save only when the monitored value beats the best so
      far (strictly, as Keras, no min_delta); a missing monitor warns and skips.
    initial_value_threshold=None: the best value to beat at the start (Keras).
      The best is kept across fits with the same callback, as Keras keeps it: a
      second fit writes over the file only when it beats the first fit's best.
    save_weights_only=False: True is refused (tinynet writes whole models, with
      the weights; ``tn.load_model(path).get_weights()`` reads them back).
    save_freq="epoch": the only choice. verbose=1 prints each decision.

    Stacked models: every epoch saves all K copies in one file; save_best_only
    is refused, since each copy has its own best epoch (EarlyStopping with
    restore_best_weights=True keeps each copy's best weights; save after fit).
    Records per epoch: saved (the path written, or None), and best with
    save_best_only.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        owner = "ModelCheckpoint"
        super().__init__(monitor, 0.0, mode, owner)
        try:
            self.filepath = os.fspath(filepath)
        except TypeError:
            raise TypeError(f"{owner}: filepath must be a path such as 'best.npz', got "
                            f"{filepath!r}.") from None
        _files.refuse_foreign_suffix(self.filepath, owner)
        if save_weights_only:
            raise ValueError(f"{owner}: save_weights_only=True is not supported: tinynet "
                             "saves whole models (.npz, weights included), read back with "
                             "tn.load_model(path); get_weights() gives the arrays. Leave "
                             "save_weights_only=False.")
        if save_freq != "epoch":
            raise ValueError(f"{owner}: save_freq must be 'epoch' (saving every N batches is "
                             f"not supported), got {save_freq!r}.")
        self.save_best_only = _checks.boolean(save_best_only, "save_best_only", owner)
        self.initial_value_threshold = (
            None if initial_value_threshold is None
            else _checks.real(initial_value_threshold, "initial_value_threshold", owner))
        self.verbose = verbose
        self.best = None  # the best monitored value so far, over every fit it is used in

    def on_train_begin(self):
        if self.save_best_only and self.model.stacked:
            raise ValueError(
                f"ModelCheckpoint: save_best_only needs a single model; this one stacks "
                f"{self.model.n_models} copies, each with its own best epoch. Use "
                "save_best_only=False (every epoch, all copies in one file), or "
                "EarlyStopping(restore_best_weights=True) and model.save after fit.")
        if self.best is None:  # set once, as Keras: a later fit must beat the earlier best
            start = self._start(1)[0]
            self.best = start if self.initial_value_threshold is None else \
                self.initial_value_threshold

    def _path(self, epoch, logs):
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError, TypeError, AttributeError) as exc:
            hint = (" Stacked models log one value per copy: use {epoch} alone."
                    if self.model.stacked else "")
            raise ValueError(
                f"ModelCheckpoint: cannot fill in filepath {self.filepath!r} from epoch and "
                f"the logs ({', '.join(logs)}): {type(exc).__name__}: {exc}.{hint}") from None

    def _save(self, path):
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self.model.save(path)

    def on_epoch_end(self, epoch, logs):
        path = self._path(epoch, logs)
        if not self.save_best_only:
            self._save(path)
            self.record(saved=path)
            if self.verbose:
                print(f"Epoch {epoch + 1}: saving model to {path}")
            return
        current = self._current(logs)
        if current is None:
            self.record(saved=None, best=self.best)
            return
        current = float(current[0])
        if self._improved(current, self.best):
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
            self._save(path)
            self.record(saved=path, best=self.best)
        else:
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                      f"{self.best:.5f}")
            self.record(saved=None, best=self.best)


class CSVLogger(Callback):
    """Write the logs of every epoch as a row of a CSV file (Keras).

    filename: the file; rewritten atomically after every epoch, so it never
    holds half a row. separator=",": the field delimiter. append=False: start
    a new file (at train begin, as Keras truncates); True keeps what is there
    and adds rows, with the header only if the file was empty: the epoch column
    goes on from the file's last row (a resumed run continues its log), the
    columns keep the file's order (NA for one this run does not log), and a run
    that logs a name the header lacks is refused with a ValueError, and so is
    a log over MAX_APPEND_BYTES (64 MiB; the whole log is kept and rewritten
    every epoch) or one that is not UTF-8 CSV.
    Columns: epoch (from 0, as Keras), then the logged names sorted (Keras's
    order). Stacked models: one row per copy, with a "copy" column after
    epoch (K rows per epoch: a long table, one line per network).
    """

    def __init__(self, filename, separator=",", append=False):
        try:
            self.filename = os.fspath(filename)
        except TypeError:
            raise TypeError(f"CSVLogger: filename must be a path such as 'log.csv', got "
                            f"{filename!r}.") from None
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger: separator must be one character, got {separator!r}.")
        self.separator = separator
        self.append = _checks.boolean(append, "append", "CSVLogger")

    def on_train_begin(self):
        data = self._read_before() if self.append and os.path.exists(self.filename) else b""
        try:
            before = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(self._unreadable(exc)) from None
        if before and not before.endswith("\n"):
            before += "\n"
        self._text = before
        self._header = not before
        self._columns, self._first_epoch = self._read_log(data)
        self.keys = None
        _files.write_text(self.filename, self._text)  # a bad path fails now, not after epoch 1

    def _read_before(self):
        """The existing log's bytes, at most MAX_APPEND_BYTES; ValueError naming the file."""
        try:  # not a FIFO or a device: it could block or never end
            with _files.open_regular(self.filename, "CSVLogger") as f:
                data = f.read(MAX_APPEND_BYTES + 1)
        except _files.NotRegularFile as exc:
            raise ValueError(f"CSVLogger: {self.filename!r} {exc}") from None
        if len(data) > MAX_APPEND_BYTES:
            raise ValueError(
                f"CSVLogger: {self.filename!r} holds more than {MAX_APPEND_BYTES} bytes, the "
                "most append=True reads back (the log is kept and rewritten whole every "
                "epoch). Log to a new file, or use append=False to start this one again.")
        return data

    def _unreadable(self, exc):
        return (f"CSVLogger: {self.filename!r} is not a CSV log that append=True can read "
                f"back ({type(exc).__name__}: {exc}). Log to a new file, or use append=False "
                "to start this one again.")

    def _read_log(self, data):
        """(the header's columns or None, the epoch after the file's last row).

        data: the log's UTF-8 bytes, decoded a line at a time; only the first
        and the last non-empty rows are kept, not every row.
        """
        first, last, n_rows = None, None, 0
        lines = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")
        try:
            for row in csv.reader(lines, delimiter=self.separator):
                if row:
                    first, last, n_rows = first or row, row, n_rows + 1
        except csv.Error as exc:  # e.g. a field over csv.field_size_limit()
            raise ValueError(self._unreadable(exc)) from None
        if first is None:
            return None, 0
        try:
            return first, int(last[0]) + 1 if n_rows > 1 else 0
        except ValueError:
            return first, 0

    def _keys_for(self, logs, stacked):
        """The logged names in the file's column order; ValueError when they do not fit."""
        lead = ["epoch"] + (["copy"] if stacked else [])
        keys = sorted(logs)
        if self._columns is None:
            return keys
        if self._columns[:len(lead)] != lead or not set(keys) <= set(self._columns[len(lead):]):
            raise ValueError(
                f"CSVLogger: {self.filename!r} has the columns {self._columns}, and this run "
                f"logs {lead + keys}; appended rows would not match the header. Log to a new "
                "file, or use append=False to start this one again.")
        return self._columns[len(lead):]  # a column this run does not log gets NA

    def on_epoch_end(self, epoch, logs):
        stacked = self.model.stacked
        if self.keys is None:
            self.keys = self._keys_for(logs, stacked)
        k = self.model.n_models
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.separator, lineterminator="\n")
        if self._header:
            writer.writerow(["epoch"] + (["copy"] if stacked else []) + self.keys)
            self._header = False
        columns = [_csv_column(logs.get(key), k) for key in self.keys]
        for copy in range(k):
            writer.writerow([self._first_epoch + epoch] + ([copy] if stacked else [])
                            + [column[copy] for column in columns])
        self._text += buffer.getvalue()
        _files.write_text(self.filename, self._text)


def _csv_column(value, k):
    """K cells for one logged value: a float per copy, or "NA" when it is missing."""
    if value is None:
        return ["NA"] * k
    values = np.broadcast_to(np.asarray(value, dtype=np.float64), (k,))
    return [repr(float(v)) for v in values]
