"""Exits with status 3 when asked to campaign."""

import sys

from fake_common import serve


def spoil(request, answer, n):
    if request.get("cmd") == "campaign":
        sys.stderr.write("fake adapter: simulated crash\n")
        sys.exit(3)
    return answer


serve(spoil)
