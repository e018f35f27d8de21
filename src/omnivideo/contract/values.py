"""The small closed vocabularies of a request, as plain ``Literal`` types.

A module of its own (typing only, no pydantic) so that the CLI can name them in its options
without importing the request model: ``omnivideo --help`` stays fast.
"""

from __future__ import annotations

from typing import Literal

Mode = Literal["std", "pro"]
AspectRatio = Literal["16:9", "9:16", "1:1"]
OnOff = Literal["on", "off"]
YesNo = Literal["yes", "no"]
