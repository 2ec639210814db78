"""The exploration engine: explores any `Target` (target.py) and checks its properties.

Searching:
- search.py         `explore(target, options)`: picks the strategy the options ask for
- bfs.py            breadth-first, one process: shortest counterexamples
- parallel_bfs.py   breadth-first in worker processes (`--workers`)
- dfs.py            depth-first: memory for one path, not a level
- random_walk.py    seeded random walks, optionally in worker processes
- workers.py        how a worker process's failure reaches the parent
- properties.py     invariants, step invariants and goals, and their verdicts
- visited.py        the fingerprint store and its measured size
- paths.py          rebuilding a counterexample path from stored fingerprints

Reporting (reads only what a search returns, outcome.py):
- progress.py       live progress lines on stderr
- summary.py        the summary table and the `--json` summary
- counterexample.py counterexample JSON files
"""
