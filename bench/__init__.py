"""fastga benchmarks (pytest-benchmark suites)."""
