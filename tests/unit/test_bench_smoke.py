"""The bench modules import, the CLI picks benchmarks right, and a fresh process's peak RSS is its own.

No timing is asserted: the machines are shared and noisy; the bench itself reports ratios.
"""
import sys

from bench import __main__ as cli
from bench import renew


def test_cli_refuses_an_unknown_benchmark(capsys):
    assert cli.main(["nope"]) == 2
    assert "usage: python -m bench" in capsys.readouterr().err


def test_cli_lists_renew():
    assert cli.present()["renew"] == "bench.renew"


def test_measure_reports_the_childs_own_peak_rss():
    """Spawned straight from this (large) process, `python -c pass` would inherit its RSS high-water mark."""
    bare = renew.measure([sys.executable, "-c", "print('hi')"], {})
    assert bare.output.strip() == "hi"
    assert 0 < bare.rss < 40
    assert bare.wall > 0
