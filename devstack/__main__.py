"""`make run`: serve the API locally with an embedded store and a fake WeChat (see runner)."""
from __future__ import annotations

import sys

from devstack.runner import main

sys.exit(main())
