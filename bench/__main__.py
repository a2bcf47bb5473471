"""``python -m bench [fit|pipeline|recovery|calibration|holdout|load|size|portfolio] [--quick] [--draws N --tune N --chains N] [--only ours|peer]``."""

import sys

from bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
