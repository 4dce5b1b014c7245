#!/usr/bin/env bash
# Timings that need the cores to themselves (issues 10 and 12). The background bench is
# paused (SIGSTOP) for the duration and resumed at the end.
#   1. DGG vs VaDE joint epochs on all 70,000 MNIST images, 2 threads, nothing else running;
#   2. then side by side, one thread each (one core each):
#      - A-DATSC through the CLI on the CanESM2 cube with defaults (issue 12 acceptance),
#      - the MNIST autoencoder recipe, 50 epochs, seed 1 (issue 10 acceptance).
#   bash benchmarks/free_core_timings.sh      (outputs in benchmarks/results/timings_DATE/)
set -u
cd "$(dirname "$0")/.."
source .venv/bin/activate
out=benchmarks/results/timings_$(date -u +%Y%m%d)
mkdir -p "$out" benchmarks/artifacts/mnist
pids=$(pgrep -f "deepclust bench" || true)
[ -n "$pids" ] && kill -STOP $pids
trap '[ -n "$pids" ] && kill -CONT $pids' EXIT
date -u +%FT%TZ > "$out/started"
python benchmarks/dgg_epoch_cost.py --n 70000 --threads 2 --epochs 2 > "$out/dgg_vade_epoch_70k.txt" 2>&1
date -u +%FT%TZ >> "$out/started"
( /usr/bin/time -v deepclust run adatsc --data climate:../shared/data/climate/canesm2_2095 \
    --n-clusters 7 --threads 1 --out benchmarks/results/canesm2/adatsc-cli-seed0 --overwrite \
    > "$out/adatsc_cli.txt" 2>&1 ) &
a=$!
( OMP_NUM_THREADS=1 python benchmarks/mnist_ae_recipe.py --layerwise-epochs 0 --finetune-epochs 50 \
    --batch-size 256 --weight-init xavier --loss mse --output linear --threads 1 --seed 1 \
    --out benchmarks/results/mnist_ae/keras_xavier_mse_f50_s1.json \
    --save benchmarks/artifacts/mnist/ae_keras_xavier_s1.pt > "$out/ae_keras_s1.txt" 2>&1 ) &
b=$!
wait $a $b
date -u +%FT%TZ > "$out/finished"
