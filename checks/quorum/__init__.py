"""Z3 proofs of the quorum and commit rules of Raft, tied to raft_ref's quorum code.

Run `python -m checks.quorum`. Families of properties, one module each:

- `unbounded`: quorum intersection for any number of servers (Venn-region counts);
- `bounded`: the same over every set of the ids 1..N (membership vectors), so
  counterexamples name real ids;
- `commit_rule`: the inductive step behind Leader Completeness, and Figure 8 of the
  Raft paper when the commit rule forgets "of the current term";
- `code_tie`: raft_ref's `majority` and `ProgressSet` against the specification.

`spec` states the rules once (`Rules`, with deliberately broken `Variant`s as
negative controls); `properties` is what a checked claim is; `runner` decides
them; `report` and `pictures` show the results.
"""
