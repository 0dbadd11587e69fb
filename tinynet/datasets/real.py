"""Two small real data sets shipped inside the package (nothing is downloaded).

Where they come from, their licence and how the files were made: DATA.md in
this folder.
"""

import gzip
import io
from importlib import resources

import numpy as np

__all__ = ["load_breast_cancer", "load_digits"]

_PACKAGE = "tinynet.datasets"
BREAST_CANCER_CLASSES = ("malignant", "benign")
DIGITS_CLASSES = tuple(str(d) for d in range(10))


def _check_flag(value, owner):
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: return_names must be True or False, got {value!r}.")


def load_breast_cancer(return_names=False):
    """Breast Cancer Wisconsin (Diagnostic): 569 tumours, 30 features, 2 classes.

    Each row describes the cell nuclei in one image of a fine-needle aspirate
    (mean, standard error and worst value of ten measurements such as radius and
    texture). The features span very different ranges (areas in the hundreds,
    smoothness near 0.1), so scale them before training (tn.data.StandardScaler).

    Labels follow scikit-learn: 0 = malignant (212), 1 = benign (357).

    Returns X float64 (569, 30), y int64 (569,); with return_names=True also
    feature_names (30 str) and target_names ("malignant", "benign") as tuples.
    """
    _check_flag(return_names, "load_breast_cancer")
    raw = resources.files(_PACKAGE).joinpath("breast_cancer.csv.gz").read_bytes()
    text = gzip.decompress(raw).decode("ascii")
    header, _, body = text.partition("\n")
    table = np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.float64)
    X = np.ascontiguousarray(table[:, :-1])
    y = table[:, -1].astype(np.int64)
    if return_names:
        return X, y, tuple(header.split(",")[:-1]), BREAST_CANCER_CLASSES
    return X, y


def load_digits(return_names=False):
    """Optical Recognition of Handwritten Digits: 1797 images of 8x8 pixels, 10 classes.

    Each row is one image, flattened row by row: pixel (i, j) is column 8 i + j,
    holding an ink count from 0 (blank) to 16 (full); ``X.reshape(-1, 8, 8)``
    gives the images. Divide by 16 (or standardise) before training.

    Labels are the digits themselves, 0..9, about 180 of each.

    Returns X float64 (1797, 64) with values 0..16, y int64 (1797,); with
    return_names=True also feature_names ("pixel_0_0" .. "pixel_7_7") and
    target_names ("0" .. "9") as tuples.
    """
    _check_flag(return_names, "load_digits")
    with resources.files(_PACKAGE).joinpath("digits.npz").open("rb") as f:
        with np.load(f, allow_pickle=False) as npz:
            X = npz["data"].astype(np.float64)
            y = npz["target"].astype(np.int64)
    if return_names:
        names = tuple(f"pixel_{i}_{j}" for i in range(8) for j in range(8))
        return X, y, names, DIGITS_CLASSES
    return X, y
