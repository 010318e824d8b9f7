"""What the target's catalog says: tables, keys, policies, grants, functions, and the tenancy model built on them."""

from rollout_gate.catalog.model import Catalog, Column, ForeignKey, Function, Policy, Table, View
from rollout_gate.catalog.names import QualifiedName, qualify
from rollout_gate.catalog.read import read_catalog
from rollout_gate.catalog.tenancy import TenancyModel, TenantTable, resolve_tenancy

__all__ = [
    "Catalog",
    "Column",
    "ForeignKey",
    "Function",
    "Policy",
    "QualifiedName",
    "Table",
    "TenancyModel",
    "TenantTable",
    "View",
    "qualify",
    "read_catalog",
    "resolve_tenancy",
]
