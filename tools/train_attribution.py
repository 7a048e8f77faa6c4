#!/usr/bin/env python
"""Train the style-attribution model shipped in tos_lint/attribution/model/.

    .venv/bin/python tools/train_attribution.py [--corpora ../shared/corpora]
        [--out tos_lint/attribution/model] [--folds 3]

Reads the AlpacaEval outputs in <corpora>/provider/alpaca_eval/*.json (each
file one model; the model -> provider mapping is MODEL_PROVIDER in
tos_lint/attribution/training.py), fits the classifier and the style
centroids on all of them, then fits the dataset-level calibration on held-out
predictions: the models are split into `--folds` groups, and each group is
scored by a style model trained without it, so the calibration only ever sees
models its style model had not seen. No randomness beyond fixed seeds: the
same corpus gives the same file.

Writes <out>/style-v1.npz (arrays, no pickle) and <out>/style-v1.json
(header with the checksum). Only weights over hashed features are written,
never corpus text. Needs scipy (`bash scripts/setup.sh train`).
"""
from __future__ import annotations

import attribution_corpus as common  # first: sets the BLAS threads before numpy loads

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from tos_lint.attribution.aggregate import fit_calibration  # noqa: E402
from tos_lint.attribution.model import DEFAULT_MODEL, PROVIDERS  # noqa: E402
from tos_lint.attribution.training import (  # noqa: E402
    MODEL_PROVIDER, TRAIN_SETTINGS, calibration_items, fit, heldout_by_model, model_folds,
)

log = common.log


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    common.add_corpora_option(p)
    p.add_argument("--out", type=Path, default=common.REPO / "tos_lint" / "attribution" / "model")
    p.add_argument("--name", default=DEFAULT_MODEL)
    p.add_argument("--folds", type=int, default=3, help="model groups for the calibration (default 3)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    loaded = common.load_dev_corpus(args.corpora)
    if loaded is None:
        print("nothing to train", file=sys.stderr)
        return 2
    corpus, spec = loaded
    folds = model_folds(sorted(set(corpus.models.tolist())), args.folds)
    heldout = heldout_by_model(corpus, spec, folds, progress=log)
    calibration, loss = fit_calibration(calibration_items(heldout), len(PROVIDERS))
    log(f"calibration beta={calibration.beta} n0={calibration.n0} (held-out log-loss {loss:.3f})")
    models = sorted(set(corpus.models.tolist()))
    info = {
        "trained_on": {
            "corpus": "AlpacaEval model outputs (tatsu-lab/alpaca_eval results/<model>/model_outputs.json)",
            "models": {m: MODEL_PROVIDER[m] for m in models},
            "records": len(corpus.texts),
        },
        "settings": dict(TRAIN_SETTINGS),
        "calibration_folds": [sorted(f) for f in folds],
        "command": "python tools/train_attribution.py",
    }
    model = fit(corpus, spec, info=info)
    model.calibration = calibration
    npz, header = model.save(args.out, args.name)
    log(f"wrote {npz} ({npz.stat().st_size / 1e6:.2f} MB) and {header.name} in {time.perf_counter() - started:.0f}s; "
        f"providers: {', '.join(PROVIDERS)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
