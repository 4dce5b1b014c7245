"""Salinas-A: SCDSC, its Table-5 ablations and the baselines, on the labelled pixels.

    python benchmarks/salinas_a.py --methods scdsc scdsc-MC scdsc-L scdsc-baseline kmeans \
        --seeds 0 1 2 --out benchmarks/results/salinas_a

Protocol (the SCDSC paper's): every method clusters the labelled pixels (the task area;
label values are never used), OA/NMI/kappa/per-class accuracy are computed on them
after Hungarian matching. Inputs:

* k-means, fuzzy c-means, spectral clustering: band-standardised spectra;
* FINCH, IDEC: flattened 7x7 patches of the 8 leading principal components (scaled
  together), the input SCDSC's network sees;
* SCDSC variants: the scene cube (``scdsc``: MC&L; ``-MC``, ``-L``, ``-baseline`` =
  the basis-representation model [18], i.e. EDESC; ``-channel``: MC&L with per-channel
  input standardisation as in the authors' code).

One JSON per (method, seed) in ``--out``; ``--maps`` also writes cluster maps and, for
SCDSC, a t-SNE of the latent codes before/after clustering (paper Fig. 12).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from deepclust.data.hsi import extract_patches, load_salinas_a
from deepclust.methods.classic import FuzzyCMeans, KMeans, SpectralClustering
from deepclust.methods.dec import IDEC
from deepclust.methods.finch import FINCH
from deepclust.methods.scdsc import SCDSC
from deepclust.metrics import external_metrics

SCDSC_SETTINGS = dict(
    window=7, beta1=3.0, beta2=7.0, lr=5e-3, epochs=400, pretrain_epochs=60, pretrain_batch_size=256
)
VARIANTS = {
    "scdsc": dict(use_minicluster=True, use_local=True),
    "scdsc-MC": dict(use_minicluster=True, use_local=False),
    "scdsc-L": dict(use_minicluster=False, use_local=True),
    "scdsc-baseline": dict(use_minicluster=False, use_local=False),
    "scdsc-channel": dict(use_minicluster=True, use_local=True, input_scaling="channel"),
}


def fitted(ds, region: str) -> np.ndarray:
    """Pixels a method is fitted on: the labelled ones (paper) or all (a user's scene)."""
    return ds.labelled if region == "labelled" else np.ones(ds.n_samples, bool)


def spectra(ds, region: str) -> np.ndarray:
    X = ds.X.astype(np.float64)
    return ((X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0))[fitted(ds, region)]


def patches(ds, region: str) -> np.ndarray:
    X = ds.X.astype(np.float64)
    z = (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0)
    evals, evecs = np.linalg.eigh(z.T @ z / len(z))
    pcs = z @ evecs[:, ::-1][:, :8]
    pcs = (pcs - pcs.mean(0)) / pcs.std()  # one common scale: keeps the PCA variance ratios
    cube = pcs.reshape(*ds.grid_shape, 8).astype(np.float32)
    P = extract_patches(cube, 7, indices=np.flatnonzero(fitted(ds, region)))
    return P.reshape(len(P), -1)


def run(name: str, seed: int, ds, region: str) -> tuple[np.ndarray, object]:
    """Labels of the labelled pixels (whatever the pixels fitted) and the estimator."""
    k = 6
    if name.startswith("scdsc"):
        est = SCDSC(k, random_state=seed, **SCDSC_SETTINGS, **VARIANTS[name])
        est.fit(ds.cube, mask=fitted(ds, region).reshape(ds.grid_shape))
        return est.label_map_.reshape(-1)[ds.labelled], est
    if name == "kmeans":
        est = KMeans(k, random_state=seed)
        X = spectra(ds, region)
    elif name == "fcm":
        est = FuzzyCMeans(k, random_state=seed)
        X = spectra(ds, region)
    elif name == "spectral":
        est = SpectralClustering(k, random_state=seed)
        X = spectra(ds, region)
    elif name == "finch":
        est = FINCH(k)  # deterministic: the seed does not enter
        X = patches(ds, region)
    elif name == "idec":
        est = IDEC(k, random_state=seed)
        X = patches(ds, region)
    else:
        raise SystemExit(f"unknown method {name}")
    labels = est.fit_predict(X)
    return (labels if region == "labelled" else labels[ds.labelled]), est


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data/hsi")
    p.add_argument("--methods", nargs="+", default=["scdsc"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", default="benchmarks/results/salinas_a")
    p.add_argument("--maps", action="store_true")
    p.add_argument(
        "--region",
        choices=["labelled", "all"],
        default="labelled",
        help="fit the labelled pixels (the paper) or every pixel (scored on the labelled)",
    )
    args = p.parse_args()
    ds = load_salinas_a(args.data)
    y = ds.y[ds.labelled]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.methods:
        for seed in args.seeds:
            tic = time.perf_counter()
            labels, est = run(name, seed, ds, args.region)
            secs = time.perf_counter() - tic
            m = external_metrics(y, labels)
            rec = {
                "method": name,
                "seed": seed,
                "region": args.region,
                "oa": m["acc"],
                "nmi": m["nmi"],
                "kappa": m["kappa"],
                "ari": m["ari"],
                "per_class": {str(c): v for c, v in m["per_class"].items()},
                "seconds": secs,
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "machine": f"{platform.node()} {platform.machine()}",
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
            if name.startswith("scdsc"):
                rec["best_epoch"] = est.best_epoch_
                rec["confident_share"] = float(
                    max(r["confident"] for r in est.history_ if r["stage"] == "scdsc")
                )
            (out / f"{name}-seed{seed}.json").write_text(json.dumps(rec, indent=2) + "\n")
            print(
                f"{name} seed {seed}: OA {m['acc']:.4f} NMI {m['nmi']:.4f} "
                f"kappa {m['kappa']:.4f} ({secs:.0f} s)",
                flush=True,
            )
            if args.maps and seed == args.seeds[0]:
                draw(name, ds, labels, est, out)


def draw(name: str, ds, labels: np.ndarray, est, out: Path) -> None:
    from deepclust.plots import plot_cluster_map, plot_embedding

    full = getattr(est, "label_map_", None)
    if full is None:
        full = np.full(ds.grid_shape, -1)
        full.ravel()[ds.labelled] = labels
    gt = ds.y.reshape(ds.grid_shape)
    plot_cluster_map(
        full, gt, class_names=ds.extra.get("class_names"), title=name, path=out / f"{name}-map.png"
    )
    if name.startswith("scdsc") and est.embedding_ is not None:
        plot_embedding(
            est.embedding_,
            est.labels_,
            ds.y[ds.labelled],
            title=name,
            projection="tsne",
            path=out / f"{name}-latent-tsne.png",
        )


if __name__ == "__main__":
    main()
