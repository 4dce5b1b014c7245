# ruff: noqa
# Session 9 IIC diagnosis by a reviewing sub-agent (kept as run, against the code before
# commit 'IIC: heads read the flattened feature map'); run from the repository root.
import torch, numpy as np, time
from sklearn.datasets import load_digits
from deepclust.methods.iic import IIC
from deepclust.objectives.pairwise_clustering import iic_loss

torch.set_num_threads(1)
X, y = load_digits(return_X_y=True)
est = IIC(image_shape=(1, 8, 8), random_state=0, epochs=1)
Xv = est._validate_fit_input(X)
est._begin_fit(Xv)
est._fit_scaling(Xv)
est._resolve(len(Xv))
est._build_modules()
data = est._as_tensor(est._scaled(Xv))
print("peak", est.input_peak_, "flip", est.flip_, "grey", est.grey_, "inch", est.in_channels_)
x = data[:256]
a = est._prepared(x)
b = est._transformed(x)
print("prepared", a.shape, a.min().item(), a.max().item(), a.mean().item())
print("transformed", b.shape, b.min().item(), b.max().item(), b.mean().item())
print(
    "mean abs diff",
    (a - b).abs().mean().item(),
    "corr",
    np.corrcoef(a.flatten().numpy(), b.flatten().numpy())[0, 1],
)
print(est.augment_)
# feature map shapes
h = a
for m in est.network_.features.net:
    h = m(h)
    if isinstance(m, torch.nn.MaxPool2d):
        print("after pool", tuple(h.shape))
print("final", tuple(h.shape))
net = est.network_
with torch.no_grad():
    p = net(a, "main")
    pt = net(b, "main")
    for i, (u, v) in enumerate(zip(p, pt)):
        ent = -(u * u.clamp_min(1e-12).log()).sum(1).mean().item()
        marg = u.mean(0)
        ment = -(marg * marg.log()).sum().item()
        print(
            f"head{i} cond-entropy {ent:.4f} marg-entropy {ment:.4f} maxprob {u.max(1).values.mean():.3f} MI {-iic_loss(u, v).item():.5f}"
        )
    f = net.features(a).mean(dim=(2, 3))
    print(
        "feature stats: mean",
        f.mean().item(),
        "std",
        f.std().item(),
        "frac zero",
        (f == 0).float().mean().item(),
    )
    logits = net.main[0](f)
    print("logit std across batch", logits.std(0).mean().item(), "overall", logits.std().item())
