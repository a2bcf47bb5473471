"""``python -m bench.worker CASE_JSON OUT_JSON``: one measurement in a fresh process."""

import sys

from bench.core import worker_main

if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
