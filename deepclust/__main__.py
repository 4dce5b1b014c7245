"""``python -m deepclust`` (also what ``torchrun -m deepclust`` runs)."""

import sys

from .cli import main

sys.exit(main())
