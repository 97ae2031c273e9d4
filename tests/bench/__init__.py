"""Benchmarks run by hand (``python tests/bench/bench_local_api.py``); no file
here is named ``test_*.py``, so pytest never collects them."""
