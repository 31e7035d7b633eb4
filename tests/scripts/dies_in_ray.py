"""The exploding regression (exploding.py), except that it kills its own process when a Ray
worker runs it (as a script that blows the worker's memory would): the sweep must survive
its workers."""
import os
import runpy
import sys

if "ray" in sys.modules and os.environ.get("NANFIX_TEST_KILL_RAY_WORKERS"):
    os._exit(1)

runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "exploding.py"),
               run_name="__main__")
