"""Migration invariants read over HTTP (`invariants.http`): an endpoint answering JSON numbers (an admin stats
route, a Convex HTTP action) and expressions over them (`organizations == users_signed_in`), each a criterion.

For targets whose data the harness cannot query with SQL: the lazy migration of a Convex backend is checked
by what its own stats endpoint reports. Missing fields and non-numbers are inconclusive, never a pass.
"""
