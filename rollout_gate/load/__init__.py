"""Load runs: what a Locust run observed, in the form the gate judges."""
