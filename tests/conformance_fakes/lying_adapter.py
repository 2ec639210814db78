"""A working adapter whose hard states claim one term more than they have."""

from fake_common import serve


def spoil(request, answer, n):
    ready = answer.get("ready")
    if isinstance(ready, dict) and ready.get("hs") is not None:
        ready["hs"]["term"] += 1
    return answer


serve(spoil)
