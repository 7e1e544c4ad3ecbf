"""Benchmarks of certmgr against the sandbox: each prints ratios to a baseline measured in the same run."""
