"""The engine tests share ``tiny_training`` (a tiny real training setup); with pytest's
importlib import mode a test folder is not on ``sys.path``, so this puts it there."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
