import sys

from rollout_gate.cli import main

sys.exit(main())
