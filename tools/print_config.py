#!/usr/bin/env python
"""``posecfg.tools.print_config`` from a checkout: ``python tools/print_config.py --help``, or installed as
``posecfg-print-config``."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from posecfg.tools.print_config import main  # noqa: E402

if __name__ == '__main__':
    main()
