cd /work/main
W='widths=(32,64,128)'
for args in "affine aug=affine" "jitter aug=jitter" "dacaug aug=dacaug"; do
  set -- $args
  OMP_NUM_THREADS=1 timeout 175 nice -n 19 .venv/bin/python benchmarks/scratch/session9_review/dac_variant.py $1 $W "${@:2}" 2>&1 | grep -v Warn
done
