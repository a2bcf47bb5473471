"""Benchmarks of PrismMMM against its peers, printed as ratios in one run (targets in docs/STATISTICS.md).

``python -m bench`` (or ``prism bench``) fits our Bayesian MMM and pymc-marketing's MMM on the
same data with the same draws/chains and writes ``bench/results/``; ``python -m bench
pipeline`` times and profiles the whole ``dbt build``. pymc-marketing is a benchmark-only
extra (``pip install -e '.[bench]'``); the product never imports it.
"""
