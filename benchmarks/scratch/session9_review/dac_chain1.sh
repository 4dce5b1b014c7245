cd /work/main
W='widths=(32,64,128)'
for args in "noaug aug=none" "cleansel aug=clean_select" "flat head=flat" "tfhead head=tf" "flat_noaug head=flat aug=none"; do
  set -- $args
  OMP_NUM_THREADS=1 timeout 175 nice -n 19 .venv/bin/python benchmarks/scratch/session9_review/dac_variant.py $1 $W "${@:2}" 2>&1 | grep -v Warn
done
