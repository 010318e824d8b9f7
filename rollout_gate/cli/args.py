"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse

from rollout_gate.phases import Phase, parse_phase


def phase_arg(value: str) -> Phase:
    """A rollout phase name; argparse reports anything else as a usage error."""
    try:
        return parse_phase(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
