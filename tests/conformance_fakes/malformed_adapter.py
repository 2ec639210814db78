"""Prints a line that is not JSON instead of answering a campaign request."""

import sys

from fake_common import serve


def spoil(request, answer, n):
    if request.get("cmd") == "campaign":
        sys.stdout.write("campaign? sure thing\n")
        sys.stdout.flush()
        return None
    return answer


serve(spoil)
