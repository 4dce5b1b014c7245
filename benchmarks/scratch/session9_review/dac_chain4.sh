cd /work/main
OMP_NUM_THREADS=1 timeout 120 nice -n 19 .venv/bin/python benchmarks/scratch/session9_review/dac_variant.py small_cleansel_rmsprop 'widths=(32,64,128)' aug=clean_select opt=rmsprop 2>&1 | grep -v Warn | grep -v T-draws
OMP_NUM_THREADS=1 timeout 180 nice -n 19 .venv/bin/python benchmarks/scratch/session9_review/dac_variant.py small_cleansel_rep2 'widths=(32,64,128)' aug=clean_select rep=2 2>&1 | grep -v Warn | grep -v T-draws
