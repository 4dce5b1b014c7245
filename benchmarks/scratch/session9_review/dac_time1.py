# ruff: noqa
# Session 9 DAC diagnosis by a reviewing sub-agent (kept as run, against the code before
# commit 'DAC: pairs chosen on the un-transformed images'); run from the repository root.
import time, torch, numpy as np
from sklearn.datasets import load_digits
from deepclust.methods.dac import DAC
from deepclust.objectives.pairwise_clustering import dac_loss

torch.manual_seed(0)
X, y = load_digits(return_X_y=True)
m = DAC(10, image_shape=(1, 8, 8), random_state=0, epochs=1)
m.input_shape_ = (1, 8, 8)
m._fit_scaling(X)
m._resolve(len(X))
m.device_ = torch.device("cpu")
m._build_modules()
print(m._n_epochs())
print(m.network_)
data = m._as_tensor(m._scaled(X))
opt = torch.optim.Adam(m.network_.parameters(), 1e-3)
for i in range(3):
    t = time.time()
    idx = torch.randperm(len(data))[:128]
    loss, ch = dac_loss(m.network_(m._transformed(data[idx])), 0.95, 0.455)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(i, time.time() - t, loss.item(), ch.item())
