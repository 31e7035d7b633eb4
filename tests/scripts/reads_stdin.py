"""Reads its settings from stdin, as `echo 7 | python reads_stdin.py` would give them."""
import sys

text = sys.stdin.read()
raise ValueError(f"stdin gave {text!r}")
