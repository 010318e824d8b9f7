"""The invariants suite: migration invariants over HTTP."""
