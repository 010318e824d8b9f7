"""Tenant-aware load test: members of several tenants sign in and run the app's typical mix.

Standalone (the exit code follows the same go/no-go criteria as the gate):

    locust -f load/locustfile.py --headless --host https://staging.example.com \
        -u 1000 -r 50 -t 10m --rollout-env staging --rollout-users-csv users.csv

Distributed: the same file with `--master` / `--worker` (see README). The pytest
`load` phase runs it in a subprocess and feeds the result to the gate.
"""

from rollout_gate.load import locust_hooks  # noqa: F401  (registers the rollout options and listeners)
from rollout_gate.load.member_user import TenantMember

__all__ = ["TenantMember"]
