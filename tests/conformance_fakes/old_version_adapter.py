"""Speaks protocol version 0."""

from fake_common import serve


def spoil(request, answer, n):
    if request.get("cmd") == "hello":
        return {"ok": True, "version": 0, "name": "old"}
    return answer


serve(spoil)
