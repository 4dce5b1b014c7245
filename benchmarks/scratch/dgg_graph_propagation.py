# ruff: noqa
# Scratch diagnostic of session 6 (2026-12-02), committed as run so that the figures
# RESULTS.md quotes can be re-made; not maintained code. Question: can DGG's neighbour
# graph (Siamese embedding, 20 of 100 neighbours) lift the k-means start on MNIST at all?
# It smooths the initial k-means labels over the graph (a majority vote of a sample and
# its neighbours, repeated) and scores each round; labels only score, nothing is chosen.
#
#   python benchmarks/scratch/dgg_graph_propagation.py AE.pt SIAMESE_CHECKPOINT.pt
import copy
import sys

import numpy as np
import torch

torch.set_num_threads(1)
from sklearn.cluster import KMeans

from deepclust.data.images import load_mnist
from deepclust.graphs.knn import knn
from deepclust.metrics import cluster_accuracy
from deepclust.nn.mlp import batched_apply
from deepclust.pretraining import Autoencoder

ae = Autoencoder.load(sys.argv[1])
ds = load_mnist("../shared/data/mnist")
X, y = ds.X, np.asarray(ds.y)
data = torch.as_tensor(X)
Z = ae.transform(X)
km = KMeans(10, n_init=20, random_state=0).fit(Z)
labels = km.labels_
print("k-means on the autoencoder embedding: ACC", round(cluster_accuracy(y, labels), 4))
net = copy.deepcopy(ae.network_.encoder)
state = torch.load(sys.argv[2], map_location="cpu", weights_only=True)["state"]["siamese"]
net.load_state_dict(state)
net.eval()
E = batched_apply(net, data).numpy()
idx, _ = knn(E, 100)
rng = np.random.default_rng(0)
pick = np.argsort(rng.random(idx.shape), axis=1)[:, :20]
nbr = np.take_along_axis(idx, pick, 1)
print("graph: same-class share of edges", round(float((y[nbr] == y[:, None]).mean()), 4))
onehot = np.eye(10)[labels]
cur = onehot
for r in range(1, 11):
    votes = 0.5 * cur + 0.5 * cur[nbr].mean(1)  # the W = (I + W_graph) / 2 of eq. (31)
    lab = votes.argmax(1)
    cur = np.eye(10)[lab]
    print("round", r, "ACC", round(cluster_accuracy(y, lab), 4))
