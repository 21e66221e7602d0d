#!/usr/bin/env python
"""``posecfg.tools.train`` from a checkout: ``python tools/train.py --help``, or installed as
``posecfg-train``."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from posecfg.config.cli import choose_openmp_waiting  # noqa: E402

choose_openmp_waiting()  # before torch loads

from posecfg.tools.train import main  # noqa: E402

if __name__ == '__main__':
    main()
