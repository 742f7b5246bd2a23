"""The policy modules live in policies/ (their own virtualenv at run time); import them by path."""

import sys
from pathlib import Path

POLICIES = Path(__file__).resolve().parents[2] / "policies"
if str(POLICIES) not in sys.path:
    sys.path.insert(0, str(POLICIES))
