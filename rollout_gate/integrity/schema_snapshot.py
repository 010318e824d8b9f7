"""A schema snapshot read from the catalog, and its comparison after a rollback.

Taken with the pre-deploy baseline (stored in the baseline file, key `schema`) and compared once the rollback
set is applied: every object the migration added and the rollback left behind, every pre-migration
object the rollback lost, and every object whose definition differs is a named finding. One set-based
query per object kind (no pg_dump, no per-object round trips), so it is cheap on a large schema.

Objects, each keyed by kind and qualified name: tables, views, sequences (with their RLS enabled and
forced flags, view definitions by hash), columns (type, nullability, default, identity, generated,
position), constraints, indexes, policies (command, permissive, roles, USING and WITH CHECK
expressions), functions (by signature: result, language, volatility, security, settings, body by hash),
triggers, types, and grants on tables, columns, functions and schemas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from rollout_gate.integrity.fingerprint import BaselineError

FORMAT_VERSION = 1

# kind -> query returning (name, attributes as jsonb) for the schemas in %(schemas)s.
QUERIES: dict[str, str] = {
    "relation": """
        select format('%%I.%%I', n.nspname, c.relname),
               jsonb_build_object(
                   'kind', case c.relkind when 'r' then 'table' when 'p' then 'partitioned table'
                                          when 'v' then 'view' when 'm' then 'materialized view'
                                          when 'f' then 'foreign table' when 'S' then 'sequence' end,
                   'rls_enabled', c.relrowsecurity, 'rls_forced', c.relforcerowsecurity,
                   'options', coalesce(array_to_string(c.reloptions, ','), ''),
                   'definition', case when c.relkind in ('v', 'm') then md5(pg_get_viewdef(c.oid)) end)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
    """,
    "column": """
        select format('%%I.%%I.%%I', n.nspname, c.relname, a.attname),
               jsonb_build_object(
                   'type', format_type(a.atttypid, a.atttypmod), 'not_null', a.attnotnull,
                   'default', pg_get_expr(d.adbin, d.adrelid), 'identity', a.attidentity,
                   'generated', a.attgenerated,
                   'position', row_number() over (partition by c.oid order by a.attnum))
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'p', 'v', 'm', 'f')
          and a.attnum > 0 and not a.attisdropped
    """,
    "constraint": """
        select format('%%I.%%I.%%I', n.nspname, c.relname, k.conname),
               jsonb_build_object('definition', pg_get_constraintdef(k.oid))
        from pg_constraint k
        join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any(%(schemas)s)
    """,
    "index": """
        select format('%%I.%%I', n.nspname, i.relname), jsonb_build_object('definition', pg_get_indexdef(i.oid))
        from pg_index x
        join pg_class i on i.oid = x.indexrelid join pg_namespace n on n.oid = i.relnamespace
        where n.nspname = any(%(schemas)s)
    """,
    "policy": """
        select format('%%I.%%I.%%I', n.nspname, c.relname, p.polname),
               jsonb_build_object(
                   'command', p.polcmd, 'permissive', p.polpermissive,
                   'roles', (select coalesce(string_agg(case r when 0 then 'public' else r::regrole::text end,
                                                        ',' order by 1), '')
                             from unnest(p.polroles) r),
                   'using', pg_get_expr(p.polqual, p.polrelid), 'with_check', pg_get_expr(p.polwithcheck, p.polrelid))
        from pg_policy p
        join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any(%(schemas)s)
    """,
    "function": """
        select format('%%I.%%I(%%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
               jsonb_build_object(
                   'kind', p.prokind, 'result', pg_get_function_result(p.oid), 'language', l.lanname,
                   'volatility', p.provolatile, 'security_definer', p.prosecdef, 'strict', p.proisstrict,
                   'settings', coalesce(array_to_string(p.proconfig, ','), ''), 'body', md5(p.prosrc))
        from pg_proc p
        join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang
        where n.nspname = any(%(schemas)s)
    """,
    "trigger": """
        select format('%%I.%%I.%%I', n.nspname, c.relname, t.tgname),
               jsonb_build_object('definition', pg_get_triggerdef(t.oid), 'enabled', t.tgenabled)
        from pg_trigger t
        join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any(%(schemas)s) and not t.tgisinternal
    """,
    "type": """
        select format('%%I.%%I', n.nspname, t.typname),
               jsonb_build_object(
                   'kind', t.typtype,
                   'definition', case t.typtype
                       when 'e' then (select string_agg(e.enumlabel, ',' order by e.enumsortorder)
                                      from pg_enum e where e.enumtypid = t.oid)
                       when 'd' then format_type(t.typbasetype, t.typtypmod) end)
        from pg_type t join pg_namespace n on n.oid = t.typnamespace
        where n.nspname = any(%(schemas)s) and t.typtype in ('e', 'd', 'r', 'm')
    """,
    # One row per (object, grantee): the privileges as a sorted list, `*` marking WITH GRANT OPTION.
    "grant": """
        with acl as (
            select format('table %%I.%%I', n.nspname, c.relname) as object,
                   (aclexplode(coalesce(c.relacl, acldefault(case c.relkind when 'S' then 's' else 'r' end::"char",
                                                             c.relowner)))).*
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
            union all
            select format('column %%I.%%I.%%I', n.nspname, c.relname, a.attname), (aclexplode(a.attacl)).*
            from pg_attribute a
            join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = any(%(schemas)s) and a.attacl is not null and a.attnum > 0 and not a.attisdropped
            union all
            select format('function %%I.%%I(%%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
                   (aclexplode(coalesce(p.proacl, acldefault('f'::"char", p.proowner)))).*
            from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = any(%(schemas)s)
            union all
            select format('schema %%I', n.nspname),
                   (aclexplode(coalesce(n.nspacl, acldefault('n'::"char", n.nspowner)))).*
            from pg_namespace n where n.nspname = any(%(schemas)s)
        )
        select format('%%s to %%s', object, case grantee when 0 then 'public' else grantee::regrole::text end),
               jsonb_build_object('privileges', string_agg(
                   privilege_type || case when is_grantable then '*' else '' end, ',' order by privilege_type))
        from acl group by object, grantee
    """,
}


@dataclass(frozen=True)
class SchemaFinding:
    kind: str
    name: str
    change: str  # "left behind" | "missing" | "changed"
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}: {self.change}: {self.detail}"


@dataclass
class SchemaSnapshot:
    schemas: list[str]
    # kind -> qualified name -> attributes
    objects: dict[str, dict[str, dict[str, Any]]]

    def to_payload(self) -> dict[str, Any]:
        return {"format_version": FORMAT_VERSION, "schemas": self.schemas, "objects": self.objects}

    @classmethod
    def from_baseline(cls, path: Path) -> SchemaSnapshot | None:
        """The snapshot stored in the baseline file at `path`; None when it holds none (an older baseline)."""
        payload = read_baseline_section(path, "schema")
        if payload is None:
            return None
        if payload.get("format_version") != FORMAT_VERSION:
            raise BaselineError(
                f"the schema snapshot in {path} has format version {payload.get('format_version')}, "
                f"this harness reads {FORMAT_VERSION}: take the baseline again"
            )
        return cls(schemas=list(payload["schemas"]), objects=payload["objects"])


def read_baseline_section(path: Path, key: str) -> dict[str, Any] | None:
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BaselineError(f"cannot read the baseline {path}: {exc}") from None
    section = payload.get(key) if isinstance(payload, dict) else None
    return section if isinstance(section, dict) else None


def take_schema_snapshot(conn: psycopg.Connection[Any], schemas: list[str]) -> SchemaSnapshot:
    objects: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, query in QUERIES.items():
        rows = conn.execute(query, {"schemas": schemas}).fetchall()
        objects[kind] = {name: attrs for name, attrs in sorted(rows)}
    return SchemaSnapshot(schemas=list(schemas), objects=objects)


def compare_schemas(before: SchemaSnapshot, after: SchemaSnapshot) -> list[SchemaFinding]:
    """Everything `after` (the rolled-back schema) holds that `before` did not, lacks, or defines differently."""
    findings: list[SchemaFinding] = []
    for kind in QUERIES:
        old, new = before.objects.get(kind, {}), after.objects.get(kind, {})
        for name in sorted(new.keys() - old.keys()):
            detail = f"not in the pre-deploy schema ({_attrs(new[name])})"
            findings.append(SchemaFinding(kind, name, "left behind", detail))
        for name in sorted(old.keys() - new.keys()):
            detail = f"the pre-deploy schema had it ({_attrs(old[name])})"
            findings.append(SchemaFinding(kind, name, "missing", detail))
        for name in sorted(old.keys() & new.keys()):
            diffs = [
                f"{attr} {_show(new[name].get(attr))} (was {_show(old[name].get(attr))})"
                for attr in sorted(old[name].keys() | new[name].keys())
                if old[name].get(attr) != new[name].get(attr)
            ]
            if diffs:
                findings.append(SchemaFinding(kind, name, "changed", "; ".join(diffs)))
    return findings


def _attrs(attrs: dict[str, Any]) -> str:
    return ", ".join(f"{k} {_show(v)}" for k, v in sorted(attrs.items()) if v not in (None, "", False))


def _show(value: Any) -> str:
    if value is None:
        return "none"
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return text if len(text) <= 120 else text[:117] + "..."
