cd /work/main
OMP_NUM_THREADS=1 timeout 100 nice -n 19 .venv/bin/python benchmarks/scratch/session9_review/dac_variant.py small_default_cons 'widths=(32,64,128)' 2>&1 | grep -v Warn
OMP_NUM_THREADS=1 timeout 100 nice -n 19 .venv/bin/python benchmarks/scratch/session9_review/dac_variant.py small_cleansel_cons 'widths=(32,64,128)' aug=clean_select 2>&1 | grep -v Warn
OMP_NUM_THREADS=1 timeout 180 nice -n 19 .venv/bin/python benchmarks/scratch/session9_review/dac_variant.py FULL_noaug aug=none 2>&1 | grep -v Warn
OMP_NUM_THREADS=1 timeout 180 nice -n 19 .venv/bin/python benchmarks/scratch/session9_review/dac_variant.py FULL_cleansel aug=clean_select 2>&1 | grep -v Warn
