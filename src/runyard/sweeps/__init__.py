"""Sweeps: W&B's sweep configs and the controller's search, as pure functions (no store, no SDK).

:mod:`runyard.sweeps.config` parses and checks a config, :mod:`runyard.sweeps.search` suggests the next
parameters, :mod:`runyard.sweeps.hyperband` decides which runs to stop early, and
:mod:`runyard.sweeps.command` expands W&B's command macros. The store keeps the controller's state
(:mod:`runyard.store.sweeps`); the SDK and the CLI run the agents.
"""

from runyard.sweeps.config import SweepConfig, load_sweep_config, parse_sweep_config

__all__ = ["SweepConfig", "load_sweep_config", "parse_sweep_config"]
