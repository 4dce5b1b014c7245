"""Pretrain the shared MNIST autoencoder (784-500-500-2000-10) for one seed.

Greedy layer-wise denoising pretraining then end-to-end fine-tuning (DEC / DGG §4);
the saved model is passed as ``pretrained=`` to DGG, VaDE, DEC, IDEC and AE+GMM so that
every method of one seed starts from the same network.

    python benchmarks/mnist_pretrain.py --seed 0 --out benchmarks/artifacts/mnist/ae_seed0.pt
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from deepclust.data.images import load_mnist
from deepclust.pretraining import Autoencoder

#: The D-500-500-2000-10 network and loss of DEC, IDEC, VaDE and DGG on MNIST.
MNIST_NETWORK = dict(
    hidden_dims=(500, 500, 2000), latent_dim=10, output="sigmoid", loss="bce", corruption=0.2
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data/mnist")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--layerwise-epochs", type=int, default=30)
    p.add_argument("--finetune-epochs", type=int, default=150)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ds = load_mnist(args.data)
    ae = Autoencoder(
        **MNIST_NETWORK,
        layerwise_epochs=args.layerwise_epochs,
        finetune_epochs=args.finetune_epochs,
        batch_size=256,
        lr=1e-3,
        random_state=args.seed,
        verbose=False,
        checkpoint_dir=str(Path(args.out).with_suffix("")) + "_ckpt",
        checkpoint_every=10,
        resume=True,
    )
    tic = time.perf_counter()
    ae.fit(ds.X)
    seconds = time.perf_counter() - tic
    ae.save(args.out)
    summary = {
        "seed": args.seed,
        "seconds": seconds,
        "final_loss": ae.history_[-1]["loss"],
        "threads": torch.get_num_threads(),
    }
    Path(args.out).with_suffix(".json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
