# ruff: noqa
# Session 9 DAC diagnosis by a reviewing sub-agent (kept as run, against the code before
# commit 'DAC: pairs chosen on the un-transformed images'); run from the repository root.
import sys, time, copy, torch, numpy as np
from sklearn.datasets import load_digits
import deepclust.methods.dac as dacmod
import deepclust.training as tr
from deepclust.metrics import cluster_accuracy
from deepclust.objectives.pairwise_clustering import dac_loss as orig_loss

X, y = load_digits(return_X_y=True)
kw = eval("dict(" + (sys.argv[1] if len(sys.argv) > 1 else "") + ")")
EVERY = int(sys.argv[2]) if len(sys.argv) > 2 else 5
m = dacmod.DAC(10, image_shape=(1, 8, 8), random_state=0, **kw)
steps = []


def rec_loss(l, u, low):
    with torch.no_grad():
        s = l @ l.T
        n = len(l)
        off = ~torch.eye(n, dtype=bool)
        pos = ((s > u) & off).float().sum() / (n * n)
        neg = ((s < low) & off).float().sum() / (n * n)
        sizes = torch.bincount(l.argmax(1), minlength=l.shape[1])
        steps.append(
            (
                pos.item(),
                neg.item(),
                l.max(1).values.mean().item() ** 1,
                (sizes > 0).sum().item(),
                sizes.max().item(),
            )
        )
    return orig_loss(l, u, low)


dacmod.dac_loss = rec_loss


def snapshot(e):
    net = m.network_
    data = torch.as_tensor(m._scaled(X), dtype=torch.float32)
    ev = m._label_features(data)
    lab_e = ev.argmax(1).numpy()
    # train-mode (batch statistics) labels on un-augmented images, in batches of 128, on a copy
    c = copy.deepcopy(net).train()
    with torch.no_grad():
        perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(1))
        tl = torch.empty(len(data), dtype=torch.long)
        for i in range(0, len(data), 128):
            idx = perm[i : i + 128]
            tl[idx] = c(m._prepared(data[idx])).argmax(1)
        ta = torch.empty(len(data), dtype=torch.long)
        for i in range(0, len(data), 128):
            idx = perm[i : i + 128]
            ta[idx] = c(m._transformed(data[idx])).argmax(1)
    lab_t = tl.numpy()
    lab_a = ta.numpy()
    p = ev.numpy() ** 2  # unit feature squared sums to 1: a distribution proxy
    print(
        f"ep{e + 1:3d} steps={len(steps)} evalACC={cluster_accuracy(y, lab_e):.3f} sizes_eval={np.bincount(lab_e, minlength=10).tolist()} "
        f"trainmodeACC={cluster_accuracy(y, lab_t):.3f} sizes_train={np.bincount(lab_t, minlength=10).tolist()} "
        f"augTrainACC={cluster_accuracy(y, lab_a):.3f} agree(eval,train)={np.mean(lab_e == lab_t):.2f} "
        f"evalmaxfeat={ev.max(1).values.mean():.3f}",
        flush=True,
    )


orig_run = tr.TrainingLoop.run


def run(self, fn):
    def wrapped(e):
        out = fn(e)
        k = len(steps)
        print(
            f"  ep{e + 1} u={out['upper']:.3f} l={out['lower']:.3f} loss={out['loss']:.3f} sel={out['selected']:.3f} "
            f"pos={np.mean([s[0] for s in steps[-14:]]):.3f} neg={np.mean([s[1] for s in steps[-14:]]):.3f} "
            f"maxfeat={np.mean([s[2] for s in steps[-14:]]):.3f} nonempty={np.mean([s[3] for s in steps[-14:]]):.1f} "
            f"largest={np.mean([s[4] for s in steps[-14:]]):.1f}",
            flush=True,
        )
        if (e + 1) % EVERY == 0 or e == 0:
            snapshot(e)
        return out

    return orig_run(self, wrapped)


tr.TrainingLoop.run = run
t = time.time()
m.fit(X)
print(
    "final ACC",
    cluster_accuracy(y, m.labels_),
    "sizes",
    np.bincount(m.labels_, minlength=10).tolist(),
    "steps",
    len(steps),
    "time",
    time.time() - t,
)
