"""Sweep: measure candidate fixes against the baseline and rank the ones that cure it.

`search.find_fixes` is the whole sweep: the `budget`, each `candidate`'s probes, successive
`halving`, `assess`-ing against the baseline, `combine`-ing partial fixes, the diagnosed
`cause`, and `rank`-ing. `axis.sweep_axis` maps one setting over a grid (`nanfix sweep`).
"""
