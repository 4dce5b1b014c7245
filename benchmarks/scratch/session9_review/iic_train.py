# ruff: noqa
# Session 9 IIC diagnosis by a reviewing sub-agent (kept as run, against the code before
# commit 'IIC: heads read the flattened feature map'); run from the repository root.
import torch, numpy as np, time, sys, torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.metrics import normalized_mutual_info_score as nmi, adjusted_rand_score as ari
from deepclust.methods.iic import IIC
from deepclust.objectives.pairwise_clustering import iic_loss

torch.set_num_threads(1)
X, y = load_digits(return_X_y=True)


def run(lr=1e-4, epochs=20, bs=256, variant="", seed=0, log_every=None, **kw):
    est = IIC(image_shape=(1, 8, 8), random_state=seed, lr=lr, **kw)
    Xv = est._validate_fit_input(X)
    est._begin_fit(Xv)
    est._fit_scaling(Xv)
    est._resolve(len(Xv))
    est._build_modules()
    data = est._as_tensor(est._scaled(Xv))
    net = est.network_
    if "hot" in variant:
        with torch.no_grad():
            for h in list(net.main) + list(net.over):
                h.weight.mul_(10.0)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    n = len(data)
    steps = 0
    t0 = time.time()
    g = torch.Generator().manual_seed(seed)
    for e in range(epochs):
        which = "main" if (epochs - 1 - e) % 2 == 0 else "over"
        if "mainonly" in variant:
            which = "main"
        order = torch.randperm(n, generator=g)
        tot = torch.zeros(est.n_heads)
        c = 0
        for s in range(0, (n // bs) * bs, bs):
            x = data[order[s : s + bs]]
            a = est._prepared(x)
            b = est._transformed(x)
            if "noaug" in variant:
                b = a.clone()
            if "up" in variant:
                a = F.interpolate(a, size=(32, 32), mode="bilinear")
                b = F.interpolate(b, size=(32, 32), mode="bilinear")
            if "cat" in variant:
                out = net(torch.cat([a, b]), which)
                p = [o[: len(a)] for o in out]
                pt = [o[len(a) :] for o in out]
            else:
                p, pt = net(a, which), net(b, which)
            L = torch.stack([iic_loss(u, v) for u, v in zip(p, pt)])
            opt.zero_grad()
            L.sum().backward()
            opt.step()
            steps += 1
            tot += L.detach()
            c += 1
        if log_every and (e + 1) % log_every == 0:
            print(
                f"  ep{e + 1} {which} MI per head {[round(-v, 3) for v in (tot / c).tolist()]}",
                flush=True,
            )
        if which == "main":
            best = int((tot / c).argmin())
    net.eval()
    with torch.no_grad():
        xs = est._prepared(data)
        if "up" in variant:
            xs = F.interpolate(xs, size=(32, 32), mode="bilinear")
        pe = net(xs, "main")[best]
    net.train()
    with torch.no_grad():
        ptr = net(xs, "main")[best]
    lab = pe.argmax(1).numpy()
    labt = ptr.argmax(1).numpy()
    print(
        f"{variant or 'default'} lr={lr} ep={epochs} steps={steps} time={time.time() - t0:.1f}s best={best} "
        f"eval: NMI={nmi(y, lab):.3f} ARI={ari(y, lab):.3f} sizes={np.bincount(lab, minlength=10).tolist()} "
        f"| train-mode BN: NMI={nmi(y, labt):.3f} sizes={np.bincount(labt, minlength=10).tolist()}",
        flush=True,
    )


if __name__ == "__main__":
    import ast

    kw = ast.literal_eval(sys.argv[1]) if len(sys.argv) > 1 else {}
    run(**kw)
