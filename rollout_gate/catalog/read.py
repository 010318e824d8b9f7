"""Read the catalog in a handful of set-based queries (no per-table round trips except none)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from rollout_gate.catalog.model import Catalog, Check, Column, ForeignKey, Function, Policy, Table, View
from rollout_gate.catalog.names import QualifiedName

PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
_COMMANDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}

_TABLES = """
select c.oid, n.nspname, c.relname, pg_get_userbyid(c.relowner), c.relrowsecurity, c.relforcerowsecurity,
       (r.rolsuper or r.rolbypassrls), greatest(c.reltuples, 0)::bigint
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_roles r on r.oid = c.relowner
where c.relkind in ('r', 'p') and not c.relispartition
  and (n.nspname = any(%(schemas)s)
       or (n.nspname, c.relname) in (select * from unnest(%(extra_schemas)s::text[], %(extra_names)s::text[])))
"""

_COLUMNS = """
select a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef,
       (a.attidentity = 'a' or a.attgenerated <> ''),
       array(select e.enumlabel from pg_enum e
             where e.enumtypid in (a.atttypid, (select t.typelem from pg_type t where t.oid = a.atttypid))
             order by e.enumsortorder)
from pg_attribute a
where a.attrelid = any(%(oids)s) and a.attnum > 0 and not a.attisdropped
order by a.attrelid, a.attnum
"""

_INDEXES = """
select i.indrelid, i.indisprimary, i.indisunique and i.indpred is null,
       array(select a.attname from unnest(i.indkey) with ordinality k(attnum, ord)
             join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum order by k.ord),
       (select a.attname from pg_attribute a where a.attrelid = i.indrelid and a.attnum = i.indkey[0]),
       i.indexprs is null
from pg_index i
where i.indrelid = any(%(oids)s)
"""

_FOREIGN_KEYS = """
select con.conname, cn.nspname, cc.relname,
       array(select a.attname from unnest(con.conkey) with ordinality k(attnum, ord)
             join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum order by k.ord),
       pn.nspname, pc.relname,
       array(select a.attname from unnest(con.confkey) with ordinality k(attnum, ord)
             join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum order by k.ord),
       con.convalidated
from pg_constraint con
join pg_class cc on cc.oid = con.conrelid join pg_namespace cn on cn.oid = cc.relnamespace
join pg_class pc on pc.oid = con.confrelid join pg_namespace pn on pn.oid = pc.relnamespace
where con.contype = 'f' and con.conrelid = any(%(oids)s) and con.conparentid = 0
order by 2, 3, 1
"""

_CHECKS = """
select con.conrelid, con.conname,
       array(select a.attname from unnest(con.conkey) k(attnum)
             join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum),
       pg_get_constraintdef(con.oid)
from pg_constraint con
where con.contype = 'c' and con.conrelid = any(%(oids)s)
order by con.conrelid, con.conname
"""

# Tables outside the schemas that their foreign keys point at (auth.users), and auth.users wherever it exists.
_REFERENCED = """
select distinct pn.nspname, pc.relname
from pg_constraint con
join pg_class cc on cc.oid = con.conrelid join pg_namespace cn on cn.oid = cc.relnamespace
join pg_class pc on pc.oid = con.confrelid join pg_namespace pn on pn.oid = pc.relnamespace
where con.contype = 'f' and cn.nspname = any(%(schemas)s) and pn.nspname <> all(%(schemas)s)
union
select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'auth' and c.relname = 'users' and c.relkind in ('r', 'p')
"""

# Bodies of the schemas' SQL and PL/pgSQL functions, searched for how they read the caller's identity.
_FUNCTION_BODIES = """
select format('%%s.%%s', n.nspname, p.proname), p.prosrc
from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang
where n.nspname = any(%(schemas)s) and l.lanname in ('sql', 'plpgsql')
"""

# A Var node in a stored policy expression means the policy looks at the row.
_POLICIES = """
select p.polrelid, p.polname, p.polcmd, p.polpermissive,
       case when p.polroles = '{0}' then array['public']
            else array(select rolname from pg_roles where oid = any(p.polroles) order by 1) end,
       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid),
       coalesce(p.polqual::text, '') || coalesce(p.polwithcheck::text, '') like '%%{VAR %%',
       array(select distinct format('%%s.%%s(%%s)', fn.nspname, f.proname, pg_get_function_identity_arguments(f.oid))
             from pg_depend d join pg_proc f on f.oid = d.refobjid join pg_namespace fn on fn.oid = f.pronamespace
             where d.classid = 'pg_policy'::regclass and d.objid = p.oid and d.refclassid = 'pg_proc'::regclass
             order by 1)
from pg_policy p
where p.polrelid = any(%(oids)s)
order by p.polrelid, p.polname
"""

_VIEWS = """
select v.oid, n.nspname, v.relname, v.relkind = 'm', coalesce(v.reloptions, '{}'),
       array(select distinct format('%%s.%%s', dn.nspname, dc.relname)
             from pg_rewrite rw
             join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = rw.oid
                             and d.refclassid = 'pg_class'::regclass and d.refobjid <> v.oid
             join pg_class dc on dc.oid = d.refobjid join pg_namespace dn on dn.oid = dc.relnamespace
             where rw.ev_class = v.oid)
from pg_class v join pg_namespace n on n.oid = v.relnamespace
where v.relkind in ('v', 'm') and n.nspname = any(%(schemas)s)
"""

# Functions of the schemas and those a policy calls (wherever they live), with who may execute them.
_FUNCTIONS = """
select p.oid, n.nspname, p.proname,
       format('%%s.%%s(%%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
       p.prosecdef, coalesce(p.proconfig, '{}'),
       case when p.prokind in ('f', 'p') then pg_get_functiondef(p.oid) else '' end,
       array(select r from unnest(%(roles)s::text[]) r where has_function_privilege(r, p.oid, 'EXECUTE')),
       has_function_privilege('public', p.oid, 'EXECUTE'),
       exists (select 1 from pg_depend e where e.classid = 'pg_proc'::regclass and e.objid = p.oid
                                           and e.deptype = 'e'),
       array(select format_type(t.oid, null) from unnest(p.proargtypes::oid[]) with ordinality a(oid, ord)
             join pg_type t on t.oid = a.oid order by a.ord)
from pg_proc p join pg_namespace n on n.oid = p.pronamespace
where (n.nspname = any(%(schemas)s) and p.prokind in ('f', 'p'))
   or p.oid in (select d.refobjid from pg_depend d join pg_policy pol on pol.oid = d.objid
                where d.classid = 'pg_policy'::regclass and d.refclassid = 'pg_proc'::regclass
                  and pol.polrelid = any(%(oids)s))
"""

# User-editable metadata of a Supabase user (auth.updateUser({data}) writes it): never a security input.
USER_METADATA = re.compile(r"\b(user_metadata|raw_user_meta_data)\b", re.IGNORECASE)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_CALL = re.compile(r'((?:"?\w+"?\s*\.\s*)?"?\w+"?)\s*\(')


def read_catalog(
    conn: psycopg.Connection[Any],
    schemas: Iterable[str],
    *,
    extra_tables: Iterable[QualifiedName] = (),
    roles: Iterable[str] = (),
    referenced: bool = False,
) -> Catalog:
    """Tables of `schemas` (plus `extra_tables` elsewhere, e.g. auth.users) and what `roles` may do with them.

    `referenced` also reads the tables outside `schemas` that their foreign keys point at, and auth.users
    where it exists: where the user table lives when the environment does not name it."""
    schemas = list(schemas)
    extra = list(extra_tables)
    if referenced:
        found = conn.execute(_REFERENCED, {"schemas": schemas}).fetchall()
        extra += [QualifiedName(schema, name) for schema, name in found if QualifiedName(schema, name) not in extra]
    existing_roles = frozenset(r for (r,) in conn.execute("select rolname from pg_roles").fetchall())
    roles = [r for r in dict.fromkeys(roles) if r in existing_roles]
    params: dict[str, Any] = {
        "schemas": schemas,
        "extra_schemas": [t.schema for t in extra],
        "extra_names": [t.name for t in extra],
    }
    tables: dict[QualifiedName, Table] = {}
    by_oid: dict[int, Table] = {}
    for oid, schema, name, owner, rls, forced, bypass, estimate in conn.execute(_TABLES, params).fetchall():
        table = Table(
            name=QualifiedName(schema, name), owner=owner, columns={}, rls_enabled=rls, rls_forced=forced,
            owner_bypasses_rls=bypass, rows_estimate=int(estimate),
        )  # fmt: skip
        tables[table.name] = by_oid[oid] = table
    oids = list(by_oid)
    params["oids"] = oids
    for oid, name, type_, not_null, has_default, generated, labels in conn.execute(_COLUMNS, params).fetchall():
        by_oid[oid].columns[name] = Column(name, type_, not_null, has_default, generated, tuple(labels))
    checks: dict[int, list[Check]] = {}
    for oid, name, columns, definition in conn.execute(_CHECKS, params).fetchall():
        checks.setdefault(oid, []).append(Check(name, tuple(columns), definition))
    for oid, found_checks in checks.items():
        by_oid[oid].checks = tuple(found_checks)
    _read_indexes(conn, params, by_oid)
    for role in roles:
        _read_privileges(conn, role, by_oid)
    foreign_keys = [
        ForeignKey(name, QualifiedName(cs, cn), tuple(ccols), QualifiedName(ps, pn), tuple(pcols), validated)
        for name, cs, cn, ccols, ps, pn, pcols, validated in conn.execute(_FOREIGN_KEYS, params).fetchall()
    ]
    policies = []
    for oid, name, cmd, permissive, proles, using, check, has_var, calls in conn.execute(_POLICIES, params).fetchall():
        command = _COMMANDS[cmd]
        policies.append(
            Policy(by_oid[oid].name, name, command, tuple(proles), permissive, using, check, not has_var, tuple(calls))
        )
    version = int(conn.execute("select current_setting('server_version_num')").fetchone()[0])  # type: ignore[index]
    routines = _read_functions(conn, params | {"roles": roles}, tables)
    bodies = [(str(name), body or "") for name, body in conn.execute(_FUNCTION_BODIES, params).fetchall()]
    return Catalog(
        tables=tables,
        foreign_keys=foreign_keys,
        policies=policies,
        views=_read_views(conn, params, roles),
        functions=[f for f in routines.values() if f.security_definer and f.name.schema in schemas],
        roles=existing_roles,
        server_version=version,
        routines=routines,
        identity_reads=identity_reads(policies, bodies),
    )


def _read_indexes(conn: psycopg.Connection[Any], params: dict[str, Any], by_oid: dict[int, Table]) -> None:
    unique: dict[int, set[str]] = {}
    unique_keys: dict[int, set[str]] = {}
    leading: dict[int, set[str]] = {}
    for oid, primary, is_unique, columns, first, plain in conn.execute(_INDEXES, params).fetchall():
        if primary:
            by_oid[oid].primary_key = tuple(columns)
        if is_unique and plain:
            unique_keys.setdefault(oid, set()).update(columns)
            if len(columns) == 1:
                unique.setdefault(oid, set()).update(columns)
        if first:
            leading.setdefault(oid, set()).add(first)
    for oid, table in by_oid.items():
        table.unique_columns = frozenset(unique.get(oid, ()))
        table.unique_key_columns = frozenset(unique_keys.get(oid, ()))
        table.index_leading_columns = frozenset(leading.get(oid, ()))


def _read_privileges(conn: psycopg.Connection[Any], role: str, by_oid: dict[int, Table]) -> None:
    # Table-level or column-level: a column grant is as good as a table grant to reach rows.
    rows = conn.execute(
        """
        select c.oid,
               has_table_privilege(%(role)s, c.oid, 'SELECT') or has_any_column_privilege(%(role)s, c.oid, 'SELECT'),
               has_table_privilege(%(role)s, c.oid, 'INSERT') or has_any_column_privilege(%(role)s, c.oid, 'INSERT'),
               has_table_privilege(%(role)s, c.oid, 'UPDATE') or has_any_column_privilege(%(role)s, c.oid, 'UPDATE'),
               has_table_privilege(%(role)s, c.oid, 'DELETE'),
               array(select a.attname from pg_attribute a
                     where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                       and has_column_privilege(%(role)s, c.oid, a.attnum, 'UPDATE'))
        from pg_class c where c.oid = any(%(oids)s)
        """,
        {"role": role, "oids": list(by_oid)},
    ).fetchall()
    for oid, *flags, updatable in rows:
        table = by_oid[oid]
        table.privileges[role] = frozenset(p for p, ok in zip(PRIVILEGES, flags, strict=True) if ok)
        table.updatable_columns[role] = frozenset(updatable)


def _read_views(conn: psycopg.Connection[Any], params: dict[str, Any], roles: list[str]) -> list[View]:
    views = []
    for oid, schema, name, materialized, options, reads in conn.execute(_VIEWS, params).fetchall():
        invoker = any(
            o.split("=", 1)[0] == "security_invoker" and o.split("=", 1)[1].lower() in ("true", "on", "1", "yes")
            for o in options
        )
        privileges = {}
        for role in roles:
            got = conn.execute(
                "select array(select p from unnest(%s::text[]) p where has_table_privilege(%s, %s::oid, p))",
                (list(PRIVILEGES), role, oid),
            ).fetchone()
            privileges[role] = frozenset(got[0] if got else ())
        read = frozenset(QualifiedName(*r.split(".", 1)) for r in reads)
        views.append(View(QualifiedName(schema, name), materialized, invoker, read, privileges))
    return views


def _read_functions(
    conn: psycopg.Connection[Any], params: dict[str, Any], tables: dict[QualifiedName, Table]
) -> dict[str, Function]:
    rows = conn.execute(_FUNCTIONS, params).fetchall()
    by_name: dict[str, list[str]] = {}
    for _, schema, name, signature, *_ in rows:
        by_name.setdefault(f"{schema}.{name}".lower(), []).append(signature)
    routines = {}
    for _, schema, name, signature, definer, config, body, executable, public, extension, arg_types in rows:
        code = _COMMENTS.sub(" ", body or "")
        calls: set[str] = set()
        for called in _CALL.findall(code):
            parts = [p.strip().strip('"').lower() for p in called.split(".")]
            qualified = ".".join(parts) if len(parts) == 2 else f"{schema}.{parts[0]}".lower()
            calls.update(by_name.get(qualified, ()))
        calls.discard(signature)
        routines[signature] = Function(
            QualifiedName(schema, name), signature, definer, frozenset(executable), _mentioned(body or "", tables),
            config=tuple(config), public_execute=bool(public), from_extension=bool(extension),
            user_metadata=frozenset(m.lower() for m in USER_METADATA.findall(code)), calls=frozenset(calls),
            argument_types=tuple(arg_types), inserts=_inserted(body or "", tables),
        )  # fmt: skip
    return routines


def _inserted(body: str, tables: dict[QualifiedName, Table]) -> frozenset[QualifiedName]:
    """Tables a function body names right after INSERT INTO (qualified or not); no SQL parsing."""
    found = set()
    for name in tables:
        pattern = rf"\binsert\s+into\s+(?:\"?{re.escape(name.schema)}\"?\s*\.\s*)?\"?{re.escape(name.name)}\"?(?![\w])"
        if re.search(pattern, body, flags=re.IGNORECASE):
            found.add(name)
    return frozenset(found)


_JWT_READS = (
    ("auth.uid()", re.compile(r"\bauth\s*\.\s*uid\s*\(\s*\)", re.I)),
    ("auth.jwt()", re.compile(r"\bauth\s*\.\s*jwt\s*\(\s*\)", re.I)),
)
_SETTING_READ = re.compile(r"current_setting\s*\(\s*'([^']+)'", re.I)


def identity_reads(policies: list[Policy], bodies: list[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    """Where policies (`table policy name`) and function bodies read the caller's identity."""
    sources: dict[str, list[str]] = {}
    texts = [(f"{p.table} policy {p.name}", f"{p.using or ''} {p.check or ''}") for p in policies]
    for where, text in [*texts, *((f"function {name}", body) for name, body in bodies)]:
        for source, pattern in _JWT_READS:
            if pattern.search(text):
                sources.setdefault(source, []).append(where)
        for setting in _SETTING_READ.findall(text):
            # request.jwt.claims and request.jwt.claim.sub are both PostgREST's claims.
            source = "request.jwt.claims" if setting.lower().startswith("request.jwt.") else setting
            sources.setdefault(source, []).append(where)
    return {source: tuple(dict.fromkeys(found)) for source, found in sorted(sources.items())}


_GRANTS = """
select r.rolname, r.rolcanlogin, a.privilege_type, count(distinct c.oid)::int
from pg_class c join pg_namespace n on n.oid = c.relnamespace
cross join lateral aclexplode(c.relacl) a
join pg_roles r on r.oid = a.grantee
where c.relkind in ('r', 'p', 'v') and n.nspname = any(%(schemas)s) and a.grantee <> c.relowner
  and not r.rolsuper and r.rolname !~ '^pg_'
group by 1, 2, 3
union all
select r.rolname, r.rolcanlogin, a.privilege_type, count(distinct c.oid)::int
from pg_attribute att join pg_class c on c.oid = att.attrelid join pg_namespace n on n.oid = c.relnamespace
cross join lateral aclexplode(att.attacl) a
join pg_roles r on r.oid = a.grantee
where att.attacl is not null and c.relkind in ('r', 'p', 'v') and n.nspname = any(%(schemas)s)
  and a.grantee <> c.relowner and not r.rolsuper and r.rolname !~ '^pg_'
group by 1, 2, 3
"""


@dataclass
class RoleGrants:
    """What one role was granted on the tables of the schemas: privilege -> how many tables."""

    login: bool
    privileges: dict[str, int] = field(default_factory=dict)


def granted_roles(conn: psycopg.Connection[Any], schemas: Iterable[str]) -> dict[str, RoleGrants]:
    """Roles (not superusers, not the owners) granted privileges on tables of `schemas` (a column grant
    counts for its table)."""
    out: dict[str, RoleGrants] = {}
    for role, login, privilege, count in conn.execute(_GRANTS, {"schemas": list(schemas)}).fetchall():
        held = out.setdefault(str(role), RoleGrants(bool(login))).privileges
        held[privilege] = max(held.get(privilege, 0), int(count))
    return out


def _mentioned(body: str, tables: dict[QualifiedName, Table]) -> frozenset[QualifiedName]:
    """Tables a function body names: a word match on the table name (qualified or not); no SQL parsing."""
    found = set()
    for name in tables:
        pattern = rf"(?<![\w.])(?:\"?{re.escape(name.schema)}\"?\s*\.\s*)?\"?{re.escape(name.name)}\"?(?![\w])"
        if re.search(pattern, body, flags=re.IGNORECASE):
            found.add(name)
    return frozenset(found)


def rls_restriction(conn: psycopg.Connection[Any]) -> str | None:
    """Why this connection may not see every row (None when it may: superuser or BYPASSRLS)."""
    row = conn.execute(
        "select current_user, rolsuper or rolbypassrls from pg_roles where rolname = current_user"
    ).fetchone()
    if row is None or row[1]:
        return None
    return (
        f"the target connection logs in as {row[0]}, which is neither superuser nor BYPASSRLS: row level "
        "security would hide rows from the checks themselves; connect as a role that bypasses RLS "
        "(on Supabase: postgres), e.g. through target.admin_database_url"
    )


# Schemas that are the platform's, not the application's (PostgreSQL's own, Supabase's services).
PLATFORM_SCHEMAS = frozenset({
    "pg_catalog", "information_schema", "pg_toast", "auth", "storage", "realtime", "_realtime", "extensions",
    "graphql", "graphql_public", "vault", "pgsodium", "pgsodium_masks", "net", "cron", "supabase_functions",
    "supabase_migrations", "_analytics", "pgbouncer", "topology", "tiger", "tiger_data",
})  # fmt: skip


def application_schemas(conn: psycopg.Connection[Any]) -> list[str]:
    """Schemas holding tables, but for PostgreSQL's and Supabase's own."""
    rows = conn.execute(
        """
        select distinct n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname !~ '^pg_(temp|toast_temp)_' order by 1
        """
    ).fetchall()
    return [str(name) for (name,) in rows if name not in PLATFORM_SCHEMAS]
