# ruff: noqa
# Session 9 DAC diagnosis by a reviewing sub-agent (kept as run, against the code before
# commit 'DAC: pairs chosen on the un-transformed images'); run from the repository root.
"""DAC training re-implemented from dac.py with switches. argv: name key=val ..."""

import sys, time, copy, torch, numpy as np, torch.nn as nn, torch.nn.functional as F
from sklearn.datasets import load_digits, fetch_olivetti_faces
import deepclust.methods.dac as dacmod
from deepclust.objectives.pairwise_clustering import dac_loss, dac_thresholds
from deepclust.metrics import cluster_accuracy

o = dict(
    widths=(64, 128, 256),
    aug="T",
    head="pooled",
    opt="adam",
    lr=1e-3,
    rep=1,
    epochs=50,
    seed=0,
    data="digits",
    lam_step=1.1 * 0.009,
    fd=32,
    bs=128,
)
for a in sys.argv[2:]:
    k, v = a.split("=")
    o[k] = eval(v) if k not in ("aug", "head", "opt", "data") else v
torch.manual_seed(o["seed"])
np.random.seed(o["seed"])
if o["data"] == "digits":
    X, y = load_digits(return_X_y=True)
    shape = (1, 8, 8)
    k = 10
else:
    raise SystemExit
m = dacmod.DAC(
    k, image_shape=shape, random_state=o["seed"], widths=o["widths"], feature_dim=o["fd"]
)
m.input_shape_ = shape
m._fit_scaling(X)
m._resolve(len(X))
m.device_ = torch.device("cpu")
m._build_modules()
net = m.network_
import kornia.augmentation as KA

if o["aug"] == "affine":
    m.augment_ = nn.Sequential(
        KA.RandomAffine(degrees=10.0, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=10.0, p=1.0)
    )
    o["aug"] = "T"
elif o["aug"] == "jitter":
    m.augment_ = nn.Sequential(KA.ColorJitter(0.3, 0.3, 0.0, 0.0, p=1.0))
    o["aug"] = "T"
elif (
    o["aug"] == "dacaug"
):  # the authors' MNIST generator: rot 10, shift 0.1, zoom 0.95-1.05 (channel shift 0.05 omitted)
    m.augment_ = nn.Sequential(
        KA.RandomAffine(degrees=10.0, translate=(0.1, 0.1), scale=(0.95, 1.05), p=1.0)
    )
    o["aug"] = "T"
if o["head"] in ("flat", "flat_tf", "flat_nobn"):
    with torch.no_grad():
        flat = net.features.eval()(torch.zeros(1, *shape)).numel()
    net.features.train()
    if o["head"] == "flat":
        net.head = nn.Sequential(
            nn.Linear(flat, k), nn.BatchNorm1d(k), nn.ReLU(), nn.Linear(k, k), nn.BatchNorm1d(k)
        )
    elif o["head"] == "flat_nobn":
        net.head = nn.Sequential(nn.Linear(flat, k))
    net.forward = lambda x: F.normalize(
        torch.softmax(net.head(net.features(x).flatten(1)), 1), dim=1
    )
elif o["head"] == "tf":  # BN+ReLU after the last layer too (authors / TF re-implementation)
    net.head = nn.Sequential(
        nn.Linear(o["fd"], k),
        nn.BatchNorm1d(k),
        nn.ReLU(),
        nn.Linear(k, k),
        nn.BatchNorm1d(k),
        nn.ReLU(),
    )
data = torch.as_tensor(m._scaled(X), dtype=torch.float32)
yt = torch.as_tensor(y)
params = list(net.parameters())
opt = (
    torch.optim.Adam(params, o["lr"])
    if o["opt"] == "adam"
    else torch.optim.RMSprop(params, o["lr"])
)
n_ep = min(
    o["epochs"],
    next(
        (
            max(1, e)
            for e in range(10000)
            if (lambda t: t[0] <= t[1])(dac_thresholds(e * o["lam_step"]))
        ),
        o["epochs"],
    ),
)
gen = torch.Generator().manual_seed(o["seed"])
bs = o["bs"]


def evaluate():
    ev = m._label_features(data).argmax(1).numpy()
    c = copy.deepcopy(net).train()
    with torch.no_grad():
        tm = c(m._prepared(data)).argmax(1).numpy()  # batch statistics over all images at once
        T = m._transformed if o["aug"] in ("T", "clean_select") else m._prepared
        a1 = c(T(data)).argmax(1)
        a2 = c(T(data)).argmax(1)
        print(
            f"   two T-draws same cluster: {(a1 == a2).float().mean():.3f}; ACC on a T-draw: {cluster_accuracy(y, a1.numpy()):.3f}",
            flush=True,
        )
    return (
        cluster_accuracy(y, ev),
        cluster_accuracy(y, tm),
        np.bincount(ev, minlength=k).tolist(),
        np.bincount(tm, minlength=k).tolist(),
    )


t0 = time.time()
steps = 0
precs = []
for e in range(n_ep):
    u, low = dac_thresholds(e * o["lam_step"])
    for r in range(o["rep"]):
        perm = torch.randperm(len(data), generator=gen)
        for s in range(0, (len(data) // bs) * bs, bs):
            idx = perm[s : s + bs]
            xb = data[idx]
            if o["aug"] == "T":
                l = net(m._transformed(xb))
            elif o["aug"] == "none":
                l = net(m._prepared(xb))
            if o["aug"] == "clean_select":
                with torch.no_grad():
                    lc = net(m._prepared(xb))
                sc = lc @ lc.T
                l = net(m._transformed(xb))
                sim = (l @ l.T).clamp(1e-6, 1 - 1e-6)
                pos = sc > u
                neg = sc < low
                pos.fill_diagonal_(False)
                neg.fill_diagonal_(False)
                ch = pos | neg
                loss = (
                    torch.where(pos, -sim.log(), -(1 - sim).log())[ch].mean()
                    if ch.any()
                    else 0 * sim.sum()
                )
                sel = ch.float().mean().item()
                sm = sc
            else:
                loss, selt = dac_loss(l, u, low)
                sel = selt.item()
                sm = l.detach() @ l.detach().T
            with torch.no_grad():
                same = yt[idx][:, None] == yt[idx][None]
                p = sm > u
                p.fill_diagonal_(False)
                precs.append((p & same).sum().item() / max(1, p.sum().item()))
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
    if (e + 1) % 10 == 0 or e == n_ep - 1:
        a = evaluate()
        print(
            f"{sys.argv[1]} ep{e + 1} steps={steps} u={u:.3f} l={low:.3f} sel={sel:.3f} posprec(last ep)={np.mean(precs[-14 * o['rep'] :]):.3f} evalACC={a[0]:.3f} trainmodeACC={a[1]:.3f} eval_sizes={a[2]} tm_sizes={a[3]} t={time.time() - t0:.0f}s",
            flush=True,
        )
