"""The target's HTTP API: a small httpx client, the reference app's contract, and the isolation probes."""
