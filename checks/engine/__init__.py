"""The exploration engine: explores any `Target` (target.py) and checks its properties.

Searching:
- search.py         `explore(target, options)`: picks the strategy and engine asked for
- bfs.py            breadth-first: the level loop, the visited store, counterexamples
- expansion.py      the one expansion loop of every BFS engine (`Expander`)
- parallel_bfs.py   BFS expanders in worker processes (`--workers`)
- ray_engine.py     BFS expanders and a sharded visited set on Ray (`--engine ray`)
- dfs.py            depth-first: memory for one path, not a level
- random_walk.py    seeded random walks, optionally in worker processes
- workers.py        starting worker processes, their failures, ending them all
- guard.py          stopping early: signals, the memory limit; memory measured
- checkpoint.py     saving a BFS level by level, and resuming it
- crashes.py        an exception in the target, reported with the path to it
- properties.py     invariants, step invariants and goals, and their verdicts
- visited.py        the fingerprint table, the parent log on disk, collision odds
- paths.py          rebuilding a counterexample path from stored fingerprints

Reporting (reads only what a search returns, outcome.py):
- progress.py       live progress lines on stderr
- summary.py        the summary table and the `--json` summary
- counterexample.py counterexample JSON files
"""
