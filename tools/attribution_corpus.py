"""What tools/train_attribution.py and tools/eval_attribution.py share: one
BLAS thread (the machines are shared), the repository on the import path,
the `--corpora` option and loading the labelled AlpacaEval answers.

Import it before numpy: the thread settings only count if they come first.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tos_lint.attribution.features import FeatureSpec  # noqa: E402
from tos_lint.attribution.training import Corpus, load_alpaca_eval, training_spec  # noqa: E402


def add_corpora_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora",
                        help="folder with provider/alpaca_eval/*.json (default: ../shared/corpora)")


def load_dev_corpus(corpora: Path, features: bool = True) -> tuple[Corpus, FeatureSpec] | None:
    """The AlpacaEval answers under `corpora` with the shipped feature
    settings, or None (and a note on stderr) when the folder is absent."""
    source = corpora / "provider" / "alpaca_eval"
    if not source.is_dir():
        log(f"no corpus at {source}")
        return None
    started = time.perf_counter()
    spec = training_spec()
    corpus = load_alpaca_eval(source, spec, features=features)
    log(f"{len(corpus.texts)} answers from {len(set(corpus.models.tolist()))} models"
        + (f", features in {time.perf_counter() - started:.0f}s" if features else ""))
    return corpus, spec


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
