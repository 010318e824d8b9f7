"""Static lints in the manner of Supabase's database linter (splinter), judged for a multi-tenant rollout.

Each lint names its object (table, policy, function, view) and has a level; where our level differs from
splinter's, the reason is here.

Fail (block the rollout):
- `user_metadata_policy` (criterion `rls_user_metadata`; splinter `rls_references_user_metadata`, ERROR):
  a policy whose expression, or a function it calls (directly or through other functions), reads
  `user_metadata` / `raw_user_meta_data`. Users write that themselves (`auth.updateUser({data})`), so a
  policy trusting it lets anyone give themselves the tenant or role it checks. Splinter matches only the
  policy text; a helper function is where such reads usually hide, so its body counts too (comments ignored).
- `view_bypasses_rls` (criterion `rls_coverage`; splinter `security_definer_view`, ERROR, and
  `materialized_view_in_api`): a view granted to an API role that reads a tenant table or a table with RLS
  and lacks `security_invoker` (it runs with its owner's rights), or a materialized view of one (no RLS).

Warn (reported for review, never block):
- `definer_search_path` (criterion `rls_definer_search_path`; splinter `function_search_path_mutable`,
  WARN): a SECURITY DEFINER function an API role may execute (granted, or through PUBLIC's default EXECUTE)
  that fixes no `search_path`: it resolves unqualified names with the caller's path, so whoever can create
  objects on it can run code as the owner. Splinter flags every function; an invoker function only ever runs
  with its caller's rights, so only definer ones callable by the API are listed. Exploiting it needs a SQL
  session that can create objects, which PostgREST callers do not have: review, not a proven hole.
- `rls_enabled_no_policy` (criterion `rls_tables_without_policies`; splinter, INFO): RLS is on, no policy
  exists, and an API role holds a grant. It denies every row to that role: fail closed, never a leak, so it
  does not block. The grant says someone meant the API to reach the table; if it should not, revoke the
  grant; if it should, members cannot, which the probes' positive controls report (inconclusive). A table
  with RLS on, no policy and no API grant is the usual "service role only" lockdown: not listed.
- `public_policy` (criterion `rls_public_policies`; no splinter lint): a policy on a tenant table for
  PUBLIC (no `TO` clause) while the anonymous role holds a grant on the table the policy covers: it applies
  to anonymous callers too, so the predicate alone stands between them and the rows. The anonymous probes
  show whether it leaks; naming the roles (`TO authenticated`) settles it. Without an anonymous grant PUBLIC
  reaches nothing more than the granted roles, and nothing is listed.
"""

from __future__ import annotations

from typing import Any

import psycopg

from rollout_gate.catalog.model import Function, Policy, View
from rollout_gate.catalog.read import USER_METADATA
from rollout_gate.catalog.tenancy import TenancyModel
from rollout_gate.gate import findings as gate
from rollout_gate.isolation.coverage import FAIL, WARN, Finding, coverage_findings

_COMMAND_PRIVILEGES = {
    "SELECT": ("SELECT",),
    "INSERT": ("INSERT",),
    "UPDATE": ("UPDATE",),
    "DELETE": ("DELETE",),
    "ALL": ("SELECT", "INSERT", "UPDATE", "DELETE"),
}


def static_findings(
    model: TenancyModel, conn: psycopg.Connection[Any] | None = None, *, app_role: str | None = None
) -> list[Finding]:
    """Every catalog finding: RLS coverage (coverage.py, `app_role` = target.app_role) and the lints here."""
    return coverage_findings(model, conn, app_role=app_role) + lint_findings(model)


def lint_findings(model: TenancyModel) -> list[Finding]:
    return [
        *_user_metadata(model),
        *_views(model),
        *_definer_search_path(model),
        *_no_policy(model),
        *_public_policies(model),
    ]


def _user_metadata(model: TenancyModel) -> list[Finding]:
    out = []
    routines = model.catalog.routines
    for policy in model.catalog.policies:
        where = sorted({m.lower() for e in (policy.using, policy.check) if e for m in USER_METADATA.findall(e)})
        via = _reading_metadata(policy, routines)
        if not where and not via:
            continue
        named = sorted({*where, *(m for fn in via for m in fn.user_metadata)})
        path = f" through {', '.join(fn.signature for fn in via)}" if via and not where else ""
        detail = (
            f"{policy.describe()} reads {' and '.join(named)}{path}: users edit their own metadata "
            "(auth.updateUser), so they can grant themselves what it checks; use app_metadata or a table"
        )
        objects = (
            (gate.TABLE, str(policy.table)),
            (gate.POLICY, policy.name),
            *((gate.FUNCTION, fn.signature) for fn in via),
        )
        out.append(Finding(FAIL, "user_metadata_policy", f"{policy.table} policy {policy.name}", detail, objects))
    return out


def _reading_metadata(policy: Policy, routines: dict[str, Function]) -> list[Function]:
    """Functions the policy reaches (its calls, and theirs) whose body reads user metadata, nearest first."""
    seen: set[str] = set()
    queue = list(policy.functions)
    found = []
    while queue:
        signature = queue.pop(0)
        if signature in seen or signature not in routines:
            continue
        seen.add(signature)
        fn = routines[signature]
        if fn.user_metadata:
            found.append(fn)
        queue += sorted(fn.calls)
    return found


def _views(model: TenancyModel) -> list[Finding]:
    tenant = {t.name for t in model.tenant_tables}
    protected = tenant | {name for name, t in model.catalog.tables.items() if t.rls_enabled}
    out = []
    for view in model.catalog.views:
        roles = [r for r in model.api_roles if view.privileges.get(r)]
        reads = sorted(str(t) for t in view.reads & protected)
        if not roles or not reads:
            continue
        if view.materialized:
            detail = f"materialized view of {', '.join(reads)} granted to {', '.join(roles)}: it has no RLS"
        elif not view.security_invoker:
            detail = (
                f"view of {', '.join(reads)} granted to {', '.join(roles)} runs with its owner's rights "
                "(set security_invoker = true)"
            )
        else:
            continue
        out.append(Finding(FAIL, "view_bypasses_rls", str(view.name), detail, _view_objects(view, reads, roles)))
    return out


def _view_objects(view: View, reads: list[str], roles: list[str]) -> tuple[tuple[str, str], ...]:
    return ((gate.VIEW, str(view.name)), *((gate.TABLE, t) for t in reads), *((gate.ROLE, r) for r in roles))


def _definer_search_path(model: TenancyModel) -> list[Finding]:
    out = []
    for fn in model.catalog.functions:
        roles = [r for r in model.api_roles if r in fn.executable_by]
        if not fn.security_definer or fn.from_extension or not roles or fn.search_path is not None:
            continue
        how = " (through PUBLIC's EXECUTE)" if fn.public_execute else ""
        detail = (
            f"SECURITY DEFINER without a fixed search_path, executable by {', '.join(roles)}{how}: it resolves "
            "unqualified names with the caller's search_path (add SET search_path = '' or a fixed list)"
        )
        objects = ((gate.FUNCTION, fn.signature), *((gate.ROLE, r) for r in roles))
        out.append(Finding(WARN, "definer_search_path", fn.signature, detail, objects))
    return out


def _no_policy(model: TenancyModel) -> list[Finding]:
    with_policy = {p.table for p in model.catalog.policies}
    out = []
    for name, table in sorted(model.catalog.tables.items()):
        roles = [r for r in model.api_roles if table.granted_to(r)]
        if not table.rls_enabled or name in with_policy or not roles:
            continue
        grants = "; ".join(f"{r}: {', '.join(sorted(table.privileges[r]))}" for r in roles)
        detail = (
            f"RLS is enabled and no policy exists: every row is hidden from the roles granted it ({grants}); "
            "revoke the grants if only the service role may use it, or add its policies"
        )
        objects = ((gate.TABLE, str(name)), *((gate.ROLE, r) for r in roles))
        out.append(Finding(WARN, "rls_enabled_no_policy", str(name), detail, objects))
    return out


def _public_policies(model: TenancyModel) -> list[Finding]:
    anon = model.anon_role
    if anon is None:
        return []
    tenant = {t.name for t in model.tenant_tables}
    out = []
    for policy in model.catalog.policies:
        table = model.catalog.tables.get(policy.table)
        if policy.table not in tenant or not policy.for_every_role or table is None:
            continue
        held = sorted(set(_COMMAND_PRIVILEGES[policy.command]) & table.privileges.get(anon, frozenset()))
        if not held:
            continue
        detail = (
            f"{policy.describe()} is for PUBLIC, so it applies to the anonymous role {anon} too, which holds "
            f"{', '.join(held)}: only its predicate keeps anonymous callers out (name the roles: TO authenticated)"
        )
        objects = ((gate.TABLE, str(policy.table)), (gate.POLICY, policy.name), (gate.ROLE, anon))
        out.append(Finding(WARN, "public_policy", f"{policy.table} policy {policy.name}", detail, objects))
    return out
