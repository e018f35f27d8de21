"""How many generated bodies each fuzz test sends.

The suite's default keeps the README's test command within its time budget. Set
``OMNIVIDEO_FUZZ_EXAMPLES`` for a deeper run, e.g. 10,000 bodies per fuzz test:

    OMNIVIDEO_FUZZ_EXAMPLES=10000 python -m pytest tests/contract/test_properties.py \\
        tests/server/test_properties_http.py
"""

from __future__ import annotations

import os

#: generated bodies per fuzz test
EXAMPLES = int(os.environ.get("OMNIVIDEO_FUZZ_EXAMPLES", "1000"))
