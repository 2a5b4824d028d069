# The shared fixtures live in harness/ so that tests of the harness itself can
# load them into an inner pytest run (see test_harness.py).
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

pytest_plugins = ["harness.fixtures"]
