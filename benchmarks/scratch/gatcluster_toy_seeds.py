"""GATCluster on the unit test's toy shapes over seeds 0-5, 12 and 20 epochs, one thread.

Run from the repository root; session 7, RESULTS.md.
"""

import sys

sys.path.insert(0, "tests")

from test_gatcluster import SMALL, _shapes  # noqa: E402

from deepclust.methods.gatcluster import GATCluster  # noqa: E402
from deepclust.metrics import cluster_accuracy  # noqa: E402
from deepclust.threads import set_num_threads  # noqa: E402

X, y = _shapes()
set_num_threads(1)
for epochs in (12, 20):
    accs = []
    for seed in range(6):
        params = {**SMALL, "random_state": seed}
        est = GATCluster(3, epochs=epochs, **params).fit(X)
        accs.append(round(cluster_accuracy(y, est.labels_), 3))
    print(epochs, accs, flush=True)
