"""Claims in its `state` answers that every node is leader: unsafe for protocol mode."""

from fake_common import serve


def spoil(request, answer, n):
    state = answer.get("state")
    if isinstance(state, dict):
        state["role"] = "Leader"
    return answer


serve(spoil)
