# ruff: noqa
# Session 9 DAC diagnosis by a reviewing sub-agent (kept as run, against the code before
# commit 'DAC: pairs chosen on the un-transformed images'); run from the repository root.
import torch, numpy as np, torch.nn as nn, torch.nn.functional as F
from sklearn.datasets import load_digits
import deepclust.methods.dac as dacmod

X, y = load_digits(return_X_y=True)
yt = torch.as_tensor(y)


def stats(l, lab, u=0.95, low=0.455):
    s = l @ l.T
    n = len(l)
    off = ~torch.eye(n, dtype=bool)
    same = (lab[:, None] == lab[None]) & off
    pos = (s > u) & off
    neg = (s < low) & off
    return dict(
        pos=round(pos.float().mean().item(), 3),
        pos_prec=round((same & pos).sum().item() / max(1, pos.sum().item()), 3),
        neg=round(neg.float().mean().item(), 3),
        neg_prec=round(((~same) & neg & off).sum().item() / max(1, neg.sum().item()), 3),
        base_same=round(same.float().sum().item() / off.sum().item(), 3),
    )


res = {}
for seed in range(3):
    torch.manual_seed(seed)
    m = dacmod.DAC(10, image_shape=(1, 8, 8), random_state=seed)
    m.input_shape_ = (1, 8, 8)
    m._fit_scaling(X)
    m._resolve(len(X))
    m.device_ = torch.device("cpu")
    m._build_modules()
    net = m.network_.train()
    data = torch.as_tensor(m._scaled(X), dtype=torch.float32)
    idx = torch.randperm(len(X))[:128]
    with torch.no_grad():
        xc = m._prepared(data[idx])
        xa = m._transformed(data[idx])
        f = net.features(xc).mean((2, 3))
        fa = net.features(xa).mean((2, 3))
        h = net.head
        z = h(f)
        za = h(fa)
        variants = {
            "default_clean": F.normalize(torch.softmax(z, 1), dim=1),
            "default_aug": F.normalize(torch.softmax(za, 1), dim=1),
            "no_logitBN(clean)": F.normalize(torch.softmax(h[3](h[2](h[1](h[0](f)))), 1), dim=1),
            "TFstyle_BN+ReLU(clean)": F.normalize(torch.softmax(F.relu(z), 1), dim=1),
            "pixels_cos(clean)": F.normalize(data[idx], dim=1),
        }
        for k, v in variants.items():
            res.setdefault(k, []).append(stats(v, yt[idx]))
        # eval mode labels at init vs train mode
        net.eval()
        le = net(xc).argmax(1)
        net.train()
        lt = net(xc).argmax(1)
        res.setdefault("eval_vs_train_agree", []).append(
            ((le == lt).float().mean().item(), torch.bincount(le, minlength=10).tolist())
        )
for k, v in res.items():
    print(k, v)
