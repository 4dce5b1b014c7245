"""Where MLC's COIL-20 seed-0 fit loses accuracy (labels for evaluation only; nothing
was changed after it): k-means on the TCR backbone features, on the TCR feature head's
``Z``, on the final ``Z`` and ``C``, and the sizes of MLC's clusters. Needs the model of
``benchmarks/mlc_images.py``. Session 12, RESULTS.md."""

import copy
import sys
import warnings

import numpy as np
import torch
from sklearn.cluster import KMeans

from deepclust import MLC
from deepclust.metrics import cluster_accuracy

sys.path.insert(0, "benchmarks")
from mlc_images import load  # noqa: E402

warnings.simplefilter("ignore")
torch.set_num_threads(1)
_, X, y, k = load("coil20")
est = MLC.load("benchmarks/results/mlc_coil20/mlc-seed0.pt")
data = est._as_tensor(est._scaled(X))


def features(net: torch.nn.Module) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    net.eval()
    with torch.no_grad():
        h = net.backbone(est._batch(data))
        return h.numpy(), net.feature_head(h).numpy(), net.cluster_head(h).numpy()


h, z, c = features(est.network_)
tcr = copy.deepcopy(est.network_)
tcr.backbone.load_state_dict(est.init_state_["backbone"])
tcr.feature_head.load_state_dict(est.init_state_["feature_head"])
_, z0, _ = features(tcr)
for name, F in [("backbone h (TCR)", h), ("Z at TCR end", z0), ("Z final", z), ("C final", c)]:
    labels = KMeans(k, n_init=10, random_state=0).fit_predict(F)
    print(name, F.shape, "k-means ACC", round(cluster_accuracy(y, labels), 3), flush=True)
sizes = np.bincount(est.labels_, minlength=k).tolist()
print("MLC labels ACC", round(cluster_accuracy(y, est.labels_), 3), "cluster sizes", sizes)
