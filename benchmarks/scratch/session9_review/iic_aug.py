# ruff: noqa
# Session 9 IIC diagnosis by a reviewing sub-agent (kept as run, against the code before
# commit 'IIC: heads read the flattened feature map'); run from the repository root.
import torch, numpy as np
from sklearn.datasets import load_digits
from deepclust.methods.iic import IIC

torch.set_num_threads(1)
X, y = load_digits(return_X_y=True)
est = IIC(image_shape=(1, 8, 8), random_state=0)
Xv = est._validate_fit_input(X)
est._begin_fit(Xv)
est._fit_scaling(Xv)
est._resolve(len(Xv))
est._build_modules()
data = est._as_tensor(est._scaled(Xv))
a = est._prepared(data)
cj = est.augment_[0]
af = est.augment_[1]
with torch.no_grad():
    c = cj(a)
    b = est._transformed(data)
bg = a == 0
print("bg frac", bg.float().mean().item())
print(
    "after ColorJitter: bg pixel mean",
    c[bg].mean().item(),
    "frac bg>0.05",
    (c[bg] > 0.05).float().mean().item(),
    "max bg",
    c[bg].max().item(),
)
d = (c - a).flatten(1)
print(
    "colorjitter per-image mean shift: std",
    d.mean(1).std().item(),
    "min",
    d.mean(1).min().item(),
    "max",
    d.mean(1).max().item(),
)
print("full T: bg mean", b[bg].mean().item())
# pixel similarity: x vs T(x) and x vs nearest same-class / diff-class
A = a.flatten(1).numpy()
B = b.flatten(1).numpy()


def cos(u, v):
    return (u * v).sum(1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)


print("cos(x, T(x)) mean", cos(A, B).mean())
An = A / np.linalg.norm(A, axis=1, keepdims=True)
S = An @ An.T
np.fill_diagonal(S, -1)
same = y[:, None] == y[None]
print("mean cos same-class", S[same & (S > -1)].mean(), "diff-class", S[~same].mean())
Bn = B / np.linalg.norm(B, axis=1, keepdims=True)
St = Bn @ An.T  # T(x_i) vs x_j
nn_ = St.argmax(1)
print(
    "T(x) nearest original is itself:",
    (nn_ == np.arange(len(A))).mean(),
    "same class:",
    (y[nn_] == y).mean(),
)
# pure kNN baseline of original
print("x 1-NN same class", (y[S.argmax(1)] == y).mean())
# visualise one
np.set_printoptions(precision=1, suppress=True, linewidth=150)
print(np.concatenate([a[0, 0].numpy(), c[0, 0].numpy(), b[0, 0].numpy()], 1))
