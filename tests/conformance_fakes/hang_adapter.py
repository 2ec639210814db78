"""Never answers a campaign request."""

import time

from fake_common import serve


def spoil(request, answer, n):
    if request.get("cmd") == "campaign":
        time.sleep(3600)
    return answer


serve(spoil)
