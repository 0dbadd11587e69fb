"""Atomic file writes, written once for everything tinynet saves.

``atomic_path(path)`` yields a temporary name in the target's own folder; the
caller writes there, and only a complete file replaces the target (one
``os.replace``, atomic on POSIX and Windows). A crash mid-write leaves the old
file intact and, at worst, a ``.<name>.tinynet-tmp-*`` file that
``stale_temporaries`` can find and remove safely.

- The new file keeps the mode of the file it replaces, or else gets the mode
  ``open()`` would give (0666 less the umask), not mkstemp's 0600.
- A path that is a symbolic link is written through: the link stays and its
  target is replaced, as editors do.
- A target that exists and is not a regular file (a device, a FIFO, a socket,
  or a link to one) is refused with NotRegularFile: replacing it would swap,
  say, /dev/null for a regular file.
- Errors name the user's path, never the temporary one.
"""

import contextlib
import glob
import os
import shutil
import stat
import tempfile

TMP_MARK = ".tinynet-tmp-"


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary file name next to ``path``; it becomes ``path`` on success.

    suffix: appended to the temporary name (some writers pick a format from it,
    e.g. ".png" or ".gif").
    """
    path = os.fspath(path)
    target = os.path.realpath(path)  # write through a symbolic link
    if not path or path.endswith(("/", os.sep)) or os.path.isdir(target):
        raise IsADirectoryError(21, f"Cannot write {path!r}: it is a folder; give a file name")
    _refuse_special(target, path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        if os.path.exists(folder):
            raise NotADirectoryError(20, f"Cannot write {path!r}: {folder!r} is a file, not a "
                                         "folder")
        raise FileNotFoundError(f"Cannot write {path!r}: the folder {folder!r} does not exist.")
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + TMP_MARK,
                                   suffix=suffix, dir=folder)
    except PermissionError as exc:
        raise PermissionError(f"Cannot write {path!r}: no permission to create files in "
                              f"{folder!r}.") from exc
    os.close(fd)
    try:
        yield tmp
        try:
            os.chmod(tmp, _mode_for(target))
            os.replace(tmp, target)
        except OSError as exc:  # name the user's path, not the temporary one
            raise type(exc)(exc.errno, f"Cannot write {path!r}: {exc.strerror}") from exc
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path, text):
    """Write a text file (UTF-8, newlines as given) atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def write_bytes_with(path, write, suffix=""):
    """Call ``write(file)`` on a binary file opened at a temporary name; fsync; swap in."""
    with atomic_path(path, suffix=suffix) as tmp:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())


# suffixes of other libraries' model files, which tinynet's model writers refuse
# (Keras 3 refuses suffixes it does not write, too)
FOREIGN_SUFFIXES = {
    ".h5": "HDF5 (Keras 2)", ".hdf5": "HDF5 (Keras 2)", ".keras": "the Keras 3 .keras format",
    ".pt": "PyTorch's format", ".pth": "PyTorch's format", ".pkl": "a pickle",
    ".pickle": "a pickle", ".json": "JSON", ".onnx": "ONNX", ".safetensors": "safetensors",
}


def refuse_foreign_suffix(path, owner):
    """ValueError if ``path`` ends in another library's model suffix (.h5, .keras, .pt, ...).

    tinynet writes its own .npz; under such a name the file would mislead. Any
    other path, with or without a suffix, passes.
    """
    path = os.fspath(path)
    stem, suffix = os.path.splitext(path)
    if suffix.lower() in FOREIGN_SUFFIXES:
        raise ValueError(
            f"{owner}: tinynet writes its own .npz format, not {FOREIGN_SUFFIXES[suffix.lower()]}; "
            f"got {path!r}. Use a path ending in .npz, e.g. {stem + '.npz'!r}, and read it back "
            "with tn.load_model.")


def save_figure(fig, path, **kwargs):
    """fig.savefig to ``path`` atomically, in the format its suffix names (default png)."""
    ext = os.path.splitext(os.fspath(path))[1] or ".png"
    with atomic_path(path, suffix=ext) as tmp:
        fig.savefig(tmp, format=ext[1:], **({"dpi": fig.dpi} | kwargs))


@contextlib.contextmanager
def staged_files(folder):
    """Yield a fresh temporary folder inside ``folder``; its files move into ``folder`` at the end.

    For outputs that only make sense together (a run's figures, table and
    report): the caller writes them all into the yielded folder, and only when
    the block completes are they moved into ``folder`` (one ``os.replace`` each,
    keeping the mode of a file they replace; none moves if any would replace a
    device, a FIFO or a socket). An exception or Ctrl-C before that
    leaves the previous files of ``folder`` as they were; files in ``folder``
    that the block did not write are never touched. The temporary folder is
    named ``.<folder>.tinynet-tmp-*``, so ``stale_temporaries(folder)`` finds one
    that a killed process left behind.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot write into {folder!r}: the folder does not exist.")
    name = os.path.basename(os.path.abspath(folder))
    stage = tempfile.mkdtemp(prefix="." + name + TMP_MARK, dir=folder)
    try:
        yield stage
        targets = {entry: os.path.realpath(os.path.join(folder, entry))
                   for entry in sorted(os.listdir(stage))}
        for entry, target in targets.items():  # every one checked before any moves in
            _refuse_special(target, os.path.join(folder, entry))
        for entry, target in targets.items():
            source = os.path.join(stage, entry)
            os.chmod(source, _mode_for(target))
            os.replace(source, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def stale_temporaries(folder):
    """Temporary files an interrupted tinynet write left in ``folder`` (safe to delete)."""
    return sorted(glob.glob(os.path.join(os.fspath(folder), "." + "*" + TMP_MARK + "*")))


class NotRegularFile(ValueError):
    """A path that names a device, a FIFO or a socket where a file was expected."""


def open_regular(path, owner):
    """The file at ``path`` opened for binary reading if it is a regular file, else
    NotRegularFile (IsADirectoryError for a folder).

    It is opened without blocking (a FIFO would wait forever for a writer) and
    checked with fstat on what was opened, so a symbolic link to /dev/zero or a
    FIFO is refused before a byte is read, and nothing can swap the file between
    the check and the read.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, f"{owner}: {path!r} is a folder; give a file's path")
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"is not a regular file (it is {_kind(mode)}); give the "
                                 "path of a file that tinynet wrote.")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _refuse_special(target, path):
    """NotRegularFile if ``target`` (``path`` resolved) is a device, a FIFO or a socket.

    A missing target passes (it will be created), and so does a folder (the
    callers refuse it themselves, or os.replace does).
    """
    try:
        mode = os.stat(target).st_mode
    except OSError:  # missing or unreachable: creating the file reports it
        return
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise NotRegularFile(f"Cannot write {path!r}: it is not a regular file (it is "
                             f"{_kind(mode)}), and saving would replace it; give the path of "
                             "a regular file or a new name.")


def _kind(mode):
    kinds = [(stat.S_ISCHR, "a character device such as /dev/zero"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISSOCK, "a socket")]
    return next((text for test, text in kinds if test(mode)), f"of mode {oct(mode)}")


def _mode_for(target):
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask
